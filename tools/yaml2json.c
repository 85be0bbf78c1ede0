/* yaml2json.c — build tool: converts docs/openapi.yaml to JSON with libyaml and jansson. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static json_t *convert(yaml_document_t *doc, yaml_node_t *node);

static json_t *scalar(yaml_node_t *node)
{
	const char *v = (const char *)node->data.scalar.value;
	size_t len = node->data.scalar.length;
	char *end;
	if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(v, len);
	if (!strcmp(v, "true"))
		return json_true();
	if (!strcmp(v, "false"))
		return json_false();
	if (!strcmp(v, "null") || !strcmp(v, "~") || len == 0)
		return json_null();
	if (len > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))) {
		long long i = strtoll(v, &end, 10);
		if (*end == '\0')
			return json_integer(i);
		double d = strtod(v, &end);
		if (*end == '\0')
			return json_real(d);
	}
	return json_stringn(v, len);
}

static json_t *convert(yaml_document_t *doc, yaml_node_t *node)
{
	json_t *out;
	if (!node)
		return json_null();
	switch (node->type) {
	case YAML_SCALAR_NODE:
		return scalar(node);
	case YAML_SEQUENCE_NODE:
		out = json_array();
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     it < node->data.sequence.items.top; it++)
			json_array_append_new(out, convert(doc, yaml_document_get_node(doc, *it)));
		return out;
	case YAML_MAPPING_NODE:
		out = json_object();
		for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
		     p < node->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			if (!k || k->type != YAML_SCALAR_NODE) {
				fprintf(stderr, "yaml2json: non-scalar key\n");
				exit(1);
			}
			json_object_set_new(out, (const char *)k->data.scalar.value,
					    convert(doc, yaml_document_get_node(doc, p->value)));
		}
		return out;
	default:
		return json_null();
	}
}

int main(int argc, char **argv)
{
	FILE *in;
	yaml_parser_t parser;
	yaml_document_t doc;
	json_t *root;
	if (argc != 3) {
		fprintf(stderr, "usage: kz_yaml2json IN.yaml OUT.json\n");
		return 2;
	}
	in = fopen(argv[1], "rb");
	if (!in) {
		perror(argv[1]);
		return 1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, in);
	if (!yaml_parser_load(&parser, &doc)) {
		fprintf(stderr, "%s:%zu:%zu: %s\n", argv[1], parser.problem_mark.line + 1,
			parser.problem_mark.column + 1, parser.problem ? parser.problem : "parse error");
		return 1;
	}
	root = convert(&doc, yaml_document_get_root_node(&doc));
	if (json_dump_file(root, argv[2], JSON_COMPACT | JSON_ENSURE_ASCII) != 0) {
		fprintf(stderr, "yaml2json: cannot write %s\n", argv[2]);
		return 1;
	}
	json_decref(root);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(in);
	return 0;
}
