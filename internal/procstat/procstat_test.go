package procstat

import (
	"errors"
	"os"
	"runtime"
	"testing"
)

func TestParseRSS(t *testing.T) {
	if kb, err := parseRSS("Name:\tsotto\nVmPeak:\t  9 kB\nVmRSS:\t   12345 kB\n"); kb != 12345 || err != nil {
		t.Errorf("got %d, %v", kb, err)
	}
	if _, err := parseRSS("Name:\tkthreadd\n"); !errors.Is(err, ErrNoRSS) {
		t.Errorf("no VmRSS line: %v", err)
	}
	if _, err := parseRSS("VmRSS:\tlots kB\n"); err == nil {
		t.Error("a malformed VmRSS was read")
	}
}

func TestRSSKBOfThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/<pid>/status is Linux's")
	}
	self, err := RSSKB(0)
	if err != nil || self <= 0 {
		t.Fatalf("self: %d, %v", self, err)
	}
	byPid, err := RSSKB(os.Getpid())
	if err != nil || byPid <= 0 {
		t.Fatalf("by pid: %d, %v", byPid, err)
	}
}
