/* touch.h — where a visit came from: source, medium and campaign from UTM tags, ad click ids
 * and the referrer (no SQL). */
#ifndef KZ_TRACK_TOUCH_H
#define KZ_TRACK_TOUCH_H

#include <jansson.h>

/* The touch of a session starting with this event's context: {"source","medium","campaign",
 * "referrer_domain","landing_url"}. *direct is 1 for (direct)/(none), the visit with neither
 * tags nor an outside referrer. */
json_t *kz_track_touch(const json_t *context, int *direct);

#endif
