/* banned.h — turns unbounded string functions into compile errors (after git's banned.h). */
#ifndef KZ_BANNED_H
#define KZ_BANNED_H

#define KZ_BANNED(func) sorry_##func##_is_banned_use_kz_buf_or_snprintf

#undef strcpy
#define strcpy(x, y) KZ_BANNED(strcpy)
#undef strcat
#define strcat(x, y) KZ_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) KZ_BANNED(strncpy)
#undef sprintf
#define sprintf(...) KZ_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) KZ_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) KZ_BANNED(strtok)
#undef gets
#define gets(x) KZ_BANNED(gets)

#endif
