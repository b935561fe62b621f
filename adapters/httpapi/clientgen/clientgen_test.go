package clientgen

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The generator versions under test: the ones the issue measured and clients use.
const (
	oapiCodegen = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2"
	ogen        = "github.com/ogen-go/ogen/cmd/ogen@v1.24.0"
)

// TestGeneratedClientsCompile runs oapi-codegen (default settings: types and client) and
// ogen on the served document and compiles what they generate. It needs the Go module proxy
// (or a warm module cache) and a minute, so -short skips it.
func TestGeneratedClientsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs oapi-codegen and ogen through the Go module proxy; run without -short")
	}
	spec, err := filepath.Abs("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	// Generated packages live inside this module (so its go.mod resolves their imports) in
	// a directory removed afterwards.
	dir, err := os.MkdirTemp(".", "gen-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })

	run(t, ".", "go", "run", oapiCodegen, "-package", "oapiclient", "-o", filepath.Join(dir, "oapiclient", "client.gen.go"), spec)
	run(t, ".", "go", "run", ogen, "-package", "ogenclient", "-target", filepath.Join(dir, "ogenclient"), "-clean", spec)
	// -mod=mod would let a drifted dependency set pass silently; the module's go.sum must
	// already cover what the generators import.
	run(t, ".", "go", "build", "-mod=readonly", "./"+filepath.ToSlash(dir)+"/...")
	run(t, ".", "go", "vet", "-mod=readonly", "./"+filepath.ToSlash(dir)+"/...")

	// The contract points the issue found broken, checked in the generated code.
	ogenTypes := read(t, filepath.Join(dir, "ogenclient", "oas_schemas_gen.go"))
	for _, want := range []string{
		`Finding\s+OptFinding\s`, // absent when the chain is valid, never null
		`GDPRExportRequestFormatJSON\s+GDPRExportRequestFormat = "json"`,       // a closed set is an enum
		`(?s)type BillingUsageEvent struct \{.*?Quantity\s+decimal\.Decimal\s`, // exact, not float32
	} {
		if !regexp.MustCompile(want).MatchString(ogenTypes) {
			t.Errorf("ogen types do not match %s", want)
		}
	}
	if strings.Contains(ogenTypes, "float32") {
		t.Errorf("ogen generated a float32 field: decimals must stay exact")
	}
}

func run(t *testing.T, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, lastLines(string(out), 60))
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lastLines keeps the end of a generator's output: ogen logs a warning per response.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
