/* cli.h — shared option parsing for kizuna's subcommands. */
#ifndef KZ_CLI_H
#define KZ_CLI_H

#include "store/store.h"

/* Value of --NAME X or --NAME=X in argv (NULL when absent); consumed args are set to NULL. */
const char *kz_cli_opt(int argc, char **argv, const char *name);
/* 1 when --NAME is present (and consumes it). */
int kz_cli_flag(int argc, char **argv, const char *name);
/* The first remaining positional argument (not starting with --), or NULL. */
const char *kz_cli_positional(int argc, char **argv);
/* 1 when an unconsumed --option remains (prints it as an error). */
int kz_cli_leftover(int argc, char **argv, const char *cmd);
/* --db, else $KIZUNA_DB, else ./data/kizuna.db. */
const char *kz_cli_db(int argc, char **argv);
/* Open and migrate the store; prints the error and returns NULL on failure. */
kz_store *kz_cli_open_store(const char *url, int pool);
/* Default country for phones: $KIZUNA_DEFAULT_COUNTRY or JP. */
const char *kz_cli_country(void);

int kz_cmd_serve(int argc, char **argv);
int kz_cmd_init(int argc, char **argv);
int kz_cmd_migrate(int argc, char **argv);
int kz_cmd_import(int argc, char **argv);
int kz_cmd_export(int argc, char **argv);
int kz_cmd_demo(int argc, char **argv);
int kz_cmd_routes(int argc, char **argv);
int kz_cmd_bounce(int argc, char **argv);
int kz_cmd_dkim_keygen(int argc, char **argv);

#endif
