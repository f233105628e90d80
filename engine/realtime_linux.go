package engine

// SVT-AV1 1.4 (Debian 12's, Ubuntu 24.04's 1.7 likewise) creates its ~100 threads with
// SCHED_FIFO priority 99 whenever the process may: as root, or with CAP_SYS_NICE or an
// RLIMIT_RTPRIO. Real-time threads that spin waiting on each other starve every normal
// thread of the machine — the worker's heartbeats, the master beside it, ssh — and on two
// cores we saw them lock a machine at 100 % system time. No process that links the engine
// needs real-time scheduling, so before the Go runtime starts its threads (a C constructor
// runs first, and every later thread and exec'd child inherits it) the process gives up the
// means: CAP_SYS_NICE from its effective, permitted, inheritable and bounding sets, and a
// zero RLIMIT_RTPRIO. SVT-AV1 then falls back to normal threads, as it does for any user.

/*
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((constructor)) static void ffrtmpNoRealtime(void) {
	struct rlimit none = {0, 0};
	setrlimit(RLIMIT_RTPRIO, &none);
	prctl(PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0); // fails without CAP_SETPCAP: nothing to drop then
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	if (syscall(SYS_capget, &hdr, data) == 0) {
		unsigned int bit = 1u << (CAP_SYS_NICE % 32);
		int i = CAP_SYS_NICE / 32;
		data[i].effective &= ~bit;
		data[i].permitted &= ~bit;
		data[i].inheritable &= ~bit;
		syscall(SYS_capset, &hdr, data);
	}
}
*/
import "C"
