package e2etest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCheckTraceReadsStraceOutput feeds checkTrace lines as strace writes
// them: reads pass, every kind of write fails, and a thread detached in an
// unknown syscall when its process was killed is neither.
func TestCheckTraceReadsStraceOutput(t *testing.T) {
	trace := strings.Join([]string{
		`100 execve("/usr/bin/sotto", ["sotto"], 0x7ffd /* 3 vars */) = 0`,
		`100 openat(AT_FDCWD, "/proc/self/maps", O_RDONLY|O_CLOEXEC) = 3`,
		`101 openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC <unfinished ...>`,
		`102 bind(7, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("0.0.0.0")}, 16) = 0`,
		`101 <... openat resumed>) = 8`,
		`103 ???( <detached ...>`,
		`103 +++ killed by SIGKILL +++`,
	}, "\n") + "\n"
	bad, reads := checkTrace(t, writeTrace(t, trace))
	if len(bad) != 0 {
		t.Errorf("a read-only trace was refused: %q", bad)
	}
	if want := []string{`"/etc/hosts"`, `"/proc/self/maps"`}; !slices.Equal(reads, want) {
		t.Errorf("reads %q, want %q", reads, want)
	}

	for _, line := range []string{
		`100 openat(AT_FDCWD, "/tmp/x", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3`,
		`100 unlink("/tmp/x") = -1 ENOENT (No such file or directory)`,
		`100 bind(3, {sa_family=AF_UNIX, sun_path="/tmp/s"}, 110) = 0`,
		`100 execve("/bin/sh", ["sh"], 0x7ffd /* 3 vars */) = 0`,
		`100 ???( <something else>`,
	} {
		first := `100 execve("/usr/bin/sotto", ["sotto"], 0x7ffd /* 3 vars */) = 0` + "\n"
		if bad, _ := checkTrace(t, writeTrace(t, first+line+"\n")); len(bad) != 1 {
			t.Errorf("%s: refused %q, want the line", line, bad)
		}
	}
}

func writeTrace(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trace")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
