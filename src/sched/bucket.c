/* SPDX-License-Identifier: MIT */
/* Token buckets for the scheduler's rate limits (GCRA, see sched_private.h). */
#include <errno.h>
#include <stdint.h>

#include "base/macros.h"
#include "base/time.h"
#include "sched/sched_private.h"

/* Slower than one token in ~30 years, or a burst whose tolerance would not
 * fit in ns: refused rather than overflowed. */
#define PERIOD_MAX (INT64_C(1) << 60)

double sched_bucket_tokens(const sched_bucket *b, int64_t now)
{
	if (!b->period)
		return b->burst ? b->burst : 1;
	double t = (double)(now - b->tat + b->tau + b->period) / (double)b->period;
	if (t < 0)
		return 0;
	return t > b->burst ? b->burst : t;
}

int64_t sched_bucket_ready_at(const sched_bucket *b)
{
	return b->period ? b->tat - b->tau : INT64_MIN;
}

void sched_bucket_take(sched_bucket *b, int64_t now)
{
	if (!b->period)
		return;
	b->tat = MAX(b->tat, now) + b->period;
}

int sched_bucket_set(sched_bucket *b, double rate, unsigned burst, int64_t now)
{
	if (!(rate >= 0) || (rate > 0 && burst < 1))
		return -EINVAL;

	int64_t period = 0, tau = 0;
	if (rate > 0) {
		double p = (double)NSEC_PER_SEC / rate;
		if (p > (double)PERIOD_MAX)
			return -EINVAL;
		period = MAX((int64_t)(p + 0.5), INT64_C(1));
		if ((int64_t)(burst - 1) > PERIOD_MAX / period)
			return -EINVAL;
		tau = (int64_t)(burst - 1) * period;
	}

	/* Keep the tokens there are: a new limit is no gift of a full
	 * bucket, nor a penalty beyond the new burst. */
	double tokens = sched_bucket_tokens(b, now);
	if (!b->period)
		tokens = burst; /* coming from unlimited: full */
	if (tokens > burst)
		tokens = burst;

	b->period = period;
	b->tau = tau;
	b->rate = rate;
	b->burst = rate > 0 ? burst : 0;
	if (!period)
		return 0;
	b->tat = now + tau + period - (int64_t)(tokens * (double)period);
	return 0;
}
