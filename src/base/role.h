/* role.h — what a user or API key may do, weakest first. */
#ifndef KZ_ROLE_H
#define KZ_ROLE_H

/* A route names the least role that may call it: viewer reads, sales writes contacts and
 * companies, marketer also defines fields, admin manages users and keys. */
enum kz_role { KZ_ROLE_NONE = 0, KZ_ROLE_VIEWER, KZ_ROLE_SALES, KZ_ROLE_MARKETER, KZ_ROLE_ADMIN };

#endif
