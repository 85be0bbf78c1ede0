/* window.c — when a journey may act: quiet hours and send windows read in the contact's time
 * zone (the workspace's when the contact has none), and "next weekday at 10:00" waits. */
#include <stdio.h>
#include <string.h>

#include "base/tz.h"
#include "journey/journey.h"

#include "base/banned.h"

#define DAY_MS ((int64_t)86400000)
#define LOOKAHEAD_DAYS 9

static int64_t offset_ms(const char *zone, int64_t t_ms)
{
	int off = 0;
	if (!zone || !*zone || kz_tz_offset(zone, t_ms / 1000, &off, NULL, 0) < 0)
		return 0;
	return (int64_t)off * 1000;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The UTC instant of local day `day` (days since 1970-01-01 in the zone) at `minute`. */
static int64_t local_to_utc(const char *zone, int64_t day, int minute)
{
	int64_t local = day * DAY_MS + (int64_t)minute * 60000;
	int64_t guess = local - offset_ms(zone, local);
	return local - offset_ms(zone, guess);
}

static int day_listed(const json_t *days, int wday)
{
	static const char *const names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
	size_t i;
	const json_t *d;
	if (!json_is_array(days) || json_array_size(days) == 0)
		return 1;
	json_array_foreach(days, i, d) {
		const char *s = json_string_value(d);
		if (s && !strcmp(s, names[wday]))
			return 1;
	}
	return 0;
}

static int allowed(const json_t *settings, const char *zone, int64_t t)
{
	const json_t *q = json_object_get(settings, "quiet_hours");
	const json_t *w = json_object_get(settings, "send_window");
	int64_t local = t + offset_ms(zone, t);
	int64_t day = floor_div(local, DAY_MS);
	int minute = (int)((local - day * DAY_MS) / 60000);
	int wday = (int)(((day + 4) % 7 + 7) % 7);
	if (json_is_object(q)) {
		int qs = kz_journey_hhmm(json_string_value(json_object_get(q, "start")));
		int qe = kz_journey_hhmm(json_string_value(json_object_get(q, "end")));
		if (qs >= 0 && qe >= 0 && qs != qe) {
			int in = qs < qe ? (minute >= qs && minute < qe) : (minute >= qs || minute < qe);
			if (in)
				return 0;
		}
	}
	if (json_is_object(w)) {
		int ws = kz_journey_hhmm(json_string_value(json_object_get(w, "start")));
		int we = kz_journey_hhmm(json_string_value(json_object_get(w, "end")));
		if (!day_listed(json_object_get(w, "days"), wday))
			return 0;
		if (ws >= 0 && we > ws && (minute < ws || minute >= we))
			return 0;
	}
	return 1;
}

int64_t kz_journey_next_window(const json_t *settings, const char *zone, int64_t t_ms)
{
	const json_t *q = json_object_get(settings, "quiet_hours");
	const json_t *w = json_object_get(settings, "send_window");
	int64_t day, best = 0;
	int marks[2], nm = 0;
	if (!json_is_object(q) && !json_is_object(w))
		return t_ms;
	if (allowed(settings, zone, t_ms))
		return t_ms;
	/* The allowed times begin where quiet hours end or where a window opens. */
	if (json_is_object(q) && kz_journey_hhmm(json_string_value(json_object_get(q, "end"))) >= 0)
		marks[nm++] = kz_journey_hhmm(json_string_value(json_object_get(q, "end")));
	if (json_is_object(w) && kz_journey_hhmm(json_string_value(json_object_get(w, "start"))) >= 0)
		marks[nm++] = kz_journey_hhmm(json_string_value(json_object_get(w, "start")));
	day = floor_div(t_ms + offset_ms(zone, t_ms), DAY_MS);
	for (int d = 0; d <= LOOKAHEAD_DAYS; d++)
		for (int m = 0; m < nm; m++) {
			int64_t c = local_to_utc(zone, day + d, marks[m]);
			if (c >= t_ms && (!best || c < best) && allowed(settings, zone, c))
				best = c;
		}
	return best ? best : t_ms; /* settings that never allow anything: do not stall forever */
}

int64_t kz_journey_next_local(const json_t *days, int hh, int mm, const char *zone, int64_t t_ms)
{
	int64_t day = floor_div(t_ms + offset_ms(zone, t_ms), DAY_MS);
	for (int d = 0; d <= LOOKAHEAD_DAYS; d++) {
		int64_t c = local_to_utc(zone, day + d, hh * 60 + mm);
		int wday = (int)((((day + d) + 4) % 7 + 7) % 7);
		if (c >= t_ms && day_listed(days, wday))
			return c;
	}
	return t_ms;
}
