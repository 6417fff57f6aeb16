package server

// What this binary is: `sotto version`, `sotto --version`, and the
// sotto_build_info metric. Go records the module version, the VCS revision
// and its time when it builds from a git checkout; the Docker build has no
// .git, so the Dockerfile passes the revision and date in with -ldflags -X,
// and those win when set.

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Stamp is what the linker wrote into package main (the Dockerfile and `make
// build` pass -X main.buildRevision=... -X main.buildDate=...): empty in a
// plain `go build`, where the build info has both. The variables stay in
// main so that the -X paths do not name this package.
type Stamp struct {
	Revision string // VCS commit
	Date     string // RFC 3339
}

// buildInfo is what `sotto version` prints and sotto_build_info carries. No
// field names a machine, a path or a user: it is safe in a public metric.
type buildInfo struct {
	Version   string // module version, "(devel)" for a local build
	Revision  string // VCS commit, "+dirty" appended for a modified tree; "unknown" without one
	Date      string // commit time (RFC 3339), or the date the Dockerfile passed in; "unknown" without one
	GoVersion string
	Platform  string // GOOS/GOARCH
}

func readBuildInfo(s Stamp) buildInfo {
	b := buildInfo{Version: "(devel)", Revision: "unknown", Date: "unknown",
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			b.Version = bi.Main.Version
		}
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.time":
				b.Date = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && b.Revision != "unknown" {
			b.Revision += "+dirty"
		}
	}
	if s.Revision != "" {
		b.Revision = s.Revision
	}
	if s.Date != "" {
		b.Date = s.Date
	}
	return b
}

func (b buildInfo) String() string {
	return fmt.Sprintf("sotto %s (revision %s, built %s, %s %s)", b.Version, b.Revision, b.Date, b.GoVersion, b.Platform)
}

// VersionMain is `sotto version`: one line, exit 0.
func VersionMain(out io.Writer, s Stamp) int {
	fmt.Fprintln(out, readBuildInfo(s))
	return 0
}
