/* fuzz_email_tokens.c — libFuzzer target: the signed tokens of public email links (send
 * tokens, click identity tokens) and sealed settings. Nothing forged may pass: a token that
 * checks must be exactly what the signer makes for its ids. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "channel/delivery.h"
#include "channel/message.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char SECRET[] = "fuzz-secret-0123456789abcdef0123";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char *s, want[96], *open;
	int64_t cid = 0, sid = 0;
	if (size > 4096)
		return 0;
	if (!ready) {
		kz_crypto_init();
		kz_delivery_key_set("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
		ready = 1;
	}
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	if (kz_email_token_check(SECRET, s, &cid, &sid) == 0) {
		kz_email_token(SECRET, cid, sid, want);
		if (strcmp(want, s)) {
			fprintf(stderr, "fuzz_email_tokens: a send token passed that the signer did not make\n");
			abort();
		}
	}
	if (kz_email_click_id_check(SECRET, s, 0, &cid) == 0) {
		long long exp = 0;
		const char *dot = strchr(s, '.');
		if (dot)
			exp = strtoll(dot + 1, NULL, 10);
		kz_email_click_id(SECRET, cid, exp, want);
		if (strcmp(want, s)) {
			fprintf(stderr, "fuzz_email_tokens: a click token passed that the signer did not make\n");
			abort();
		}
	}
	open = kz_unseal(s);
	free(open);
	free(s);
	return 0;
}
