/* doi.h — whether double opt-in is in this build. The email module owns it
 * (src/channel/optin.h: kz_email_double_optin_send); a form with settings.double_opt_in calls
 * it with the submission. Built without that module, such forms are refused (422). */
#ifndef KZ_CAPTURE_DOI_H
#define KZ_CAPTURE_DOI_H

#if __has_include("channel/optin.h")
#include "channel/optin.h"
#define KZ_HAVE_DOUBLE_OPTIN 1
#else
#define KZ_HAVE_DOUBLE_OPTIN 0
#endif

#endif
