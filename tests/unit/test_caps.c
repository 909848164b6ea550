/* SPDX-License-Identifier: MIT */
/* Capability names to numbers and back; the kernel's last capability. */
#include <errno.h>
#include <linux/capability.h>

#include "sandbox/caps.h"
#include "tap.h"

TEST(names_to_numbers)
{
	CHECK_EQ_INT(caps_from_name("CAP_NET_ADMIN"), CAP_NET_ADMIN);
	CHECK_EQ_INT(caps_from_name("net_admin"), CAP_NET_ADMIN);
	CHECK_EQ_INT(caps_from_name("Cap_Net_Bind_Service"), CAP_NET_BIND_SERVICE);
	CHECK_EQ_INT(caps_from_name("NET_BIND_SERVICE"), 10);
	CHECK_EQ_INT(caps_from_name("chown"), 0);
	CHECK_EQ_INT(caps_from_name("CAP_SYS_ADMIN"), 21);
	CHECK_EQ_INT(caps_from_name("cap_checkpoint_restore"), 40);
	CHECK_EQ_INT(caps_from_name("bpf"), 39);
}

TEST(numbers_to_names)
{
	CHECK_EQ_STR(caps_name(0), "chown");
	CHECK_EQ_STR(caps_name(CAP_NET_BIND_SERVICE), "net_bind_service");
	CHECK_EQ_STR(caps_name(CAP_SYS_PTRACE), "sys_ptrace");
	CHECK_EQ_STR(caps_name(40), "checkpoint_restore");
	CHECK(caps_name(41) == NULL);
	CHECK(caps_name(-1) == NULL);
	/* Every name goes back to its number. */
	for (int i = 0; i <= 40; i++) {
		CHECK(caps_name(i) != NULL);
		CHECK_EQ_INT(caps_from_name(caps_name(i)), i);
	}
}

TEST(unknown_names)
{
	CHECK_EQ_INT(caps_from_name("CAP_FLY"), -EINVAL);
	CHECK_EQ_INT(caps_from_name(""), -EINVAL);
	CHECK_EQ_INT(caps_from_name("CAP_"), -EINVAL);
	CHECK_EQ_INT(caps_from_name("net_admin "), -EINVAL);
	CHECK_EQ_INT(caps_from_name("cap_cap_net_admin"), -EINVAL);
	CHECK_EQ_INT(caps_from_name("12"), -EINVAL);
	CHECK_EQ_INT(caps_from_name(NULL), -EINVAL);
}

TEST(last_cap)
{
	/* CAP_CHECKPOINT_RESTORE arrived in 5.9. */
	int last = caps_last_cap();
	CHECK(last >= 40);
	CHECK(last < 64);
}
