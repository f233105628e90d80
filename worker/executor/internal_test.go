package executor

import "testing"

func TestCrashSignal(t *testing.T) {
	for stderr, want := range map[string]string{
		"SIGSEGV: segmentation violation\nPC=0x40816e m=0 sigcode=0 addr=0x3485\n":                                                                          "SIGSEGV: segmentation violation",
		"fatal error: unexpected signal during runtime execution\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x7f3a2c]\n\nruntime stack:": "SIGSEGV: segmentation violation",
		"SIGABRT: abort\nPC=0x7f m=3 sigcode=18446744073709551610\n":                                                                                        "SIGABRT: abort",
		"panic: oops\n\ngoroutine 1 [running]:\n":                                                                                                           "",
	} {
		if got := crashSignal(stderr); got != want {
			t.Errorf("crashSignal(%q) = %q, want %q", stderr, got, want)
		}
	}
}

func TestTailBufferKeepsHeadAndTail(t *testing.T) {
	b := &tailBuffer{max: 10}
	head := make([]byte, headBytes)
	for i := range head {
		head[i] = 'h'
	}
	n, _ := b.Write(head)
	m, _ := b.Write([]byte("middle-middle-the end"))
	if n != headBytes || m != 21 {
		t.Fatalf("Write returned %d and %d", n, m)
	}
	s := b.String()
	if s[:3] != "hhh" || s[len(s)-7:] != "the end" || len(s) > headBytes+10+5 {
		t.Fatalf("kept %q…%q (%d bytes)", s[:3], s[len(s)-10:], len(s))
	}
}
