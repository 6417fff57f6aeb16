package testutil

// docker-compose files, as docker-compose itself resolves them: the tests
// of deploy/ and deploy/cluster/ check what the files say, not their text.

import (
	"os"
	"os/exec"
	"testing"

	"go.yaml.in/yaml/v2"
)

// ComposeConfig runs `docker-compose -f file config` with env added to the
// environment and returns what it printed and how it exited: the file as
// docker-compose resolves it, or why it refuses it.
func ComposeConfig(t testing.TB, file string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(Tool(t, "docker-compose", "docker-compose"), "-f", file, "config")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ComposeFile is what the tests read of `docker-compose config`.
type ComposeFile struct {
	Services map[string]ComposeService `yaml:"services"`
}

// ComposeService is one service of a ComposeFile.
type ComposeService struct {
	ReadOnly    bool              `yaml:"read_only"`
	CapDrop     []string          `yaml:"cap_drop"`
	Environment map[string]string `yaml:"environment"`
	Ports       []struct {
		Target    int    `yaml:"target"`
		Published any    `yaml:"published"`
		Protocol  string `yaml:"protocol"`
	} `yaml:"ports"`
	Networks map[string]struct {
		IPv4 string `yaml:"ipv4_address"`
	} `yaml:"networks"`
	// Volumes are strings ("src:dst") or maps (the long form).
	Volumes []any `yaml:"volumes"`
}

// ParseCompose reads ComposeConfig's output.
func ParseCompose(t testing.TB, out string) ComposeFile {
	t.Helper()
	var f ComposeFile
	if err := yaml.Unmarshal([]byte(out), &f); err != nil {
		t.Fatalf("docker-compose config printed what is not YAML: %v\n%s", err, out)
	}
	return f
}
