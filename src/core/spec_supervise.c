/* SPDX-License-Identifier: MIT */
/* art_spec: supervision settings (docs/supervision.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/taskspec.h"

#define HEALTH_INTERVAL_DEFAULT_NS (10 * INT64_C(1000000000))
#define HEALTH_TIMEOUT_DEFAULT_NS (5 * INT64_C(1000000000))
#define HEALTH_FAILURES_DEFAULT 3

void spec_supervise_init(spec_supervise *sp)
{
	*sp = (spec_supervise){
		.health_interval_ns = HEALTH_INTERVAL_DEFAULT_NS,
		.health_timeout_ns = HEALTH_TIMEOUT_DEFAULT_NS,
		.health_failures = HEALTH_FAILURES_DEFAULT,
	};
	supervise_config_init(&sp->cfg);
}

void spec_supervise_free(spec_supervise *sp)
{
	strv_clear(&sp->health_cmd);
	spec_supervise_init(sp);
}

int spec_supervise_copy(spec_supervise *dst, const spec_supervise *src)
{
	spec_supervise c = *src;
	c.health_cmd = (strv){ 0 };
	if (strv_copy(&c.health_cmd, &src->health_cmd) < 0)
		return -ENOMEM;
	*dst = c;
	return 0;
}

int art_spec_set_restart(art_spec *s, const char *policy, unsigned max_restarts, int64_t window_ns)
{
	supervise_config c = s->sup.cfg;
	if (!policy || supervise_policy_from_string(policy, &c.policy) < 0)
		return -EINVAL;
	c.max_restarts = max_restarts;
	if (window_ns > 0)
		c.restart_window_ns = window_ns;
	if (supervise_config_check(&c) < 0)
		return -EINVAL;
	s->sup.cfg = c;
	s->sup.set = true;
	return 0;
}

int art_spec_set_backoff(art_spec *s, const char *text, double jitter)
{
	supervise_backoff b = s->sup.cfg.backoff;
	if (!text || supervise_backoff_from_string(text, &b) < 0 || !(jitter >= 0 && jitter <= 1))
		return -EINVAL;
	b.jitter = jitter;
	s->sup.cfg.backoff = b;
	return 0;
}

int art_spec_set_restart_reset(art_spec *s, int64_t ns)
{
	if (ns < 0)
		return -EINVAL;
	s->sup.cfg.reset_ns = ns;
	return 0;
}

int art_spec_add_success_exit_code(art_spec *s, int code)
{
	supervise_config *c = &s->sup.cfg;
	if (code < 0 || code > 255)
		return -EINVAL;
	for (unsigned i = 0; i < c->n_success_codes; i++)
		if (c->success_codes[i] == code)
			return 0;
	if (c->n_success_codes >= SUPERVISE_MAX_SUCCESS_CODES)
		return -E2BIG;
	c->success_codes[c->n_success_codes++] = code;
	return 0;
}

int art_spec_set_health(art_spec *s, const char *const *argv, int64_t interval_ns,
			int64_t timeout_ns, unsigned failures)
{
	if (!argv || !argv[0] || !argv[0][0] || interval_ns < 0 || timeout_ns < 0)
		return -EINVAL;
	strv v = { 0 };
	for (size_t i = 0; argv[i]; i++)
		if (strv_push(&v, argv[i]) < 0) {
			strv_clear(&v);
			return -ENOMEM;
		}
	strv_clear(&s->sup.health_cmd);
	s->sup.health_cmd = v;
	if (interval_ns)
		s->sup.health_interval_ns = interval_ns;
	if (timeout_ns)
		s->sup.health_timeout_ns = timeout_ns;
	if (failures)
		s->sup.health_failures = failures;
	return 0;
}

int art_spec_set_watchdog(art_spec *s, int64_t ns)
{
	if (ns < 0)
		return -EINVAL;
	s->sup.watchdog_ns = ns;
	if (ns)
		s->sup.notify = true;
	return 0;
}

int art_spec_set_notify(art_spec *s, int on)
{
	s->sup.notify = on != 0 || s->sup.watchdog_ns > 0;
	return 0;
}
