package main

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

// Set at link time by the Dockerfile (-X main.buildRevision=... -X
// main.buildDate=...); empty in a plain `go build`, where the build info has them.
var (
	buildRevision string
	buildDate     string
)

// buildInfo is what `sotto version` prints and sotto_build_info carries. No
// field names a machine, a path or a user: it is safe in a public metric.
type buildInfo struct {
	Version   string // module version, "(devel)" for a local build
	Revision  string // VCS commit, "+dirty" appended for a modified tree; "unknown" without one
	Date      string // commit time (RFC 3339), or the date the Dockerfile passed in; "unknown" without one
	GoVersion string
	Platform  string // GOOS/GOARCH
}

func readBuildInfo() buildInfo {
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
	if buildRevision != "" {
		b.Revision = buildRevision
	}
	if buildDate != "" {
		b.Date = buildDate
	}
	return b
}

func (b buildInfo) String() string {
	return fmt.Sprintf("sotto %s (revision %s, built %s, %s %s)", b.Version, b.Revision, b.Date, b.GoVersion, b.Platform)
}

// versionMain is `sotto version`: one line, exit 0.
func versionMain(out io.Writer) int {
	fmt.Fprintln(out, readBuildInfo())
	return 0
}
