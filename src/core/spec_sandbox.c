/* SPDX-License-Identifier: MIT */
/* art_spec: the isolation settings (docs/sandbox.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/macros.h"
#include "core/taskspec.h"
#include "sandbox/caps.h"
#include "sandbox/seccomp.h"

void spec_sandbox_free(spec_sandbox *sb)
{
	free(sb->hostname);
	free(sb->rootfs);
	for (size_t i = 0; i < sb->n_binds; i++) {
		free(sb->binds[i].source);
		free(sb->binds[i].target);
	}
	free(sb->binds);
	for (size_t i = 0; i < sb->n_tmpfs; i++)
		free(sb->tmpfs[i].target);
	free(sb->tmpfs);
	free(sb->ws_base);
	free(sb->ws_target);
	free(sb->seccomp);
	strv_clear(&sb->sc_allow);
	strv_clear(&sb->sc_deny);
	*sb = (spec_sandbox){ 0 };
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	return s && !(*out = strdup(s)) ? -ENOMEM : 0;
}

int spec_sandbox_copy(spec_sandbox *dst, const spec_sandbox *src)
{
	*dst = *src;
	dst->hostname = dst->rootfs = dst->ws_base = dst->ws_target = dst->seccomp = NULL;
	dst->binds = NULL;
	dst->tmpfs = NULL;
	dst->n_binds = dst->n_tmpfs = 0;
	dst->sc_allow = dst->sc_deny = (strv){ 0 };
	int r = 0;
	r = r ?: dup_opt(src->hostname, &dst->hostname);
	r = r ?: dup_opt(src->rootfs, &dst->rootfs);
	r = r ?: dup_opt(src->ws_base, &dst->ws_base);
	r = r ?: dup_opt(src->ws_target, &dst->ws_target);
	r = r ?: dup_opt(src->seccomp, &dst->seccomp);
	r = r ?: strv_copy(&dst->sc_allow, &src->sc_allow);
	r = r ?: strv_copy(&dst->sc_deny, &src->sc_deny);
	if (r == 0 && src->n_binds) {
		dst->binds = calloc(src->n_binds, sizeof(*dst->binds));
		if (!dst->binds)
			r = -ENOMEM;
		for (size_t i = 0; r == 0 && i < src->n_binds; i++, dst->n_binds++) {
			dst->binds[i].rw = src->binds[i].rw;
			r = r ?: dup_opt(src->binds[i].source, &dst->binds[i].source);
			r = r ?: dup_opt(src->binds[i].target, &dst->binds[i].target);
		}
	}
	if (r == 0 && src->n_tmpfs) {
		dst->tmpfs = calloc(src->n_tmpfs, sizeof(*dst->tmpfs));
		if (!dst->tmpfs)
			r = -ENOMEM;
		for (size_t i = 0; r == 0 && i < src->n_tmpfs; i++, dst->n_tmpfs++) {
			dst->tmpfs[i].size = src->tmpfs[i].size;
			r = dup_opt(src->tmpfs[i].target, &dst->tmpfs[i].target);
		}
	}
	if (r < 0)
		spec_sandbox_free(dst);
	return r;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool strv_eq(const strv *a, const strv *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

bool spec_sandbox_equal(const spec_sandbox *a, const spec_sandbox *b)
{
	if (a->network_host != b->network_host || a->tmp_size != b->tmp_size ||
	    a->allow_userns != b->allow_userns || a->keep_caps != b->keep_caps ||
	    a->ws_changes != b->ws_changes || a->n_binds != b->n_binds ||
	    a->n_tmpfs != b->n_tmpfs || !str_eq(a->hostname, b->hostname) ||
	    !str_eq(a->rootfs, b->rootfs) || !str_eq(a->ws_base, b->ws_base) ||
	    !str_eq(a->ws_target, b->ws_target) || !str_eq(a->seccomp, b->seccomp) ||
	    !strv_eq(&a->sc_allow, &b->sc_allow) || !strv_eq(&a->sc_deny, &b->sc_deny))
		return false;
	for (size_t i = 0; i < a->n_binds; i++)
		if (a->binds[i].rw != b->binds[i].rw ||
		    !str_eq(a->binds[i].source, b->binds[i].source) ||
		    !str_eq(a->binds[i].target, b->binds[i].target))
			return false;
	for (size_t i = 0; i < a->n_tmpfs; i++)
		if (a->tmpfs[i].size != b->tmpfs[i].size ||
		    !str_eq(a->tmpfs[i].target, b->tmpfs[i].target))
			return false;
	return true;
}

art_sandbox_level spec_effective_level(const art_spec *s)
{
	if (s->sb.level_set)
		return s->sb.level;
	return (s->limits_set & SPEC_CGROUP_LIMITS) ? ART_SANDBOX_LIMITS : ART_SANDBOX_NONE;
}

int art_spec_set_sandbox(art_spec *s, art_sandbox_level level)
{
	if ((unsigned)level > ART_SANDBOX_FULL)
		return -EINVAL;
	s->sb.level = level;
	s->sb.level_set = true;
	return 0;
}

art_sandbox_level art_spec_sandbox(const art_spec *s)
{
	return spec_effective_level(s);
}

int art_spec_set_network_host(art_spec *s, int host)
{
	s->sb.network_host = host != 0;
	return 0;
}

static int replace_str(char **field, const char *value)
{
	char *copy = NULL;
	if (value && !(copy = strdup(value)))
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

int art_spec_set_hostname(art_spec *s, const char *hostname)
{
	if (hostname && (!*hostname || strlen(hostname) > 64))
		return -EINVAL;
	return replace_str(&s->sb.hostname, hostname);
}

int art_spec_set_rootfs(art_spec *s, const char *path)
{
	if (path && path[0] != '/')
		return -EINVAL;
	return replace_str(&s->sb.rootfs, path);
}

int art_spec_add_bind(art_spec *s, const char *source, const char *target, int writable)
{
	if (!source || !target || source[0] != '/' || target[0] != '/')
		return -EINVAL;
	spec_bind *v = realloc(s->sb.binds, (s->sb.n_binds + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->sb.binds = v;
	spec_bind b = { strdup(source), strdup(target), writable != 0 };
	if (!b.source || !b.target) {
		free(b.source);
		free(b.target);
		return -ENOMEM;
	}
	v[s->sb.n_binds++] = b;
	return 0;
}

int art_spec_add_tmpfs(art_spec *s, const char *target, uint64_t size)
{
	if (!target || target[0] != '/')
		return -EINVAL;
	spec_tmpfs *v = realloc(s->sb.tmpfs, (s->sb.n_tmpfs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->sb.tmpfs = v;
	spec_tmpfs t = { strdup(target), size };
	if (!t.target)
		return -ENOMEM;
	v[s->sb.n_tmpfs++] = t;
	return 0;
}

int art_spec_set_tmp_size(art_spec *s, uint64_t size)
{
	s->sb.tmp_size = size;
	return 0;
}

int art_spec_set_workspace(art_spec *s, const char *base, const char *target,
			   art_workspace_changes changes)
{
	if ((base && base[0] != '/') || (target && target[0] != '/') ||
	    (unsigned)changes > ART_WORKSPACE_LIST)
		return -EINVAL;
	char *b = NULL, *t = NULL;
	if ((base && !(b = strdup(base))) || (target && !(t = strdup(target)))) {
		free(b);
		return -ENOMEM;
	}
	free(s->sb.ws_base);
	free(s->sb.ws_target);
	s->sb.ws_base = b;
	s->sb.ws_target = t;
	s->sb.ws_changes = changes;
	return 0;
}

int art_spec_set_seccomp(art_spec *s, const char *profile)
{
	if (profile && !sc_profile_exists(profile))
		return -EINVAL;
	return replace_str(&s->sb.seccomp, profile);
}

int art_spec_seccomp_allow(art_spec *s, const char *name)
{
	return name && *name ? strv_push(&s->sb.sc_allow, name) : -EINVAL;
}

int art_spec_seccomp_deny(art_spec *s, const char *name)
{
	return name && *name ? strv_push(&s->sb.sc_deny, name) : -EINVAL;
}

int art_spec_set_allow_userns(art_spec *s, int allow)
{
	s->sb.allow_userns = allow != 0;
	return 0;
}

int art_spec_add_cap(art_spec *s, const char *name)
{
	int cap = name ? caps_from_name(name) : -EINVAL;
	if (cap < 0 || cap >= 64)
		return -EINVAL;
	s->sb.keep_caps |= UINT64_C(1) << cap;
	return 0;
}
