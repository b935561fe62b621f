package eusaas_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeEmbeddingSnippet: the README's embedding snippet is the compiled, tested
// billing/membilling Example (the lines between its snippet markers), so it cannot rot.
func TestReadmeEmbeddingSnippet(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## Embedding one module")
	if !ok {
		t.Fatal("README has no embedding section")
	}
	_, block, ok := strings.Cut(after, "```go\n")
	if !ok {
		t.Fatal("the embedding section has no Go snippet")
	}
	block, _, _ = strings.Cut(block, "```")
	src, err := os.ReadFile("billing/membilling/example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, ex, ok := strings.Cut(string(src), "// snippet:start\n")
	if !ok {
		t.Fatal("example has no snippet:start marker")
	}
	ex, _, ok = strings.Cut(ex, "\t// snippet:end")
	if !ok {
		t.Fatal("example has no snippet:end marker")
	}
	var want []string
	for _, l := range strings.Split(ex, "\n") {
		want = append(want, strings.TrimPrefix(l, "\t"))
	}
	if got := strings.TrimRight(block, "\n"); got != strings.TrimRight(strings.Join(want, "\n"), "\n") {
		t.Errorf("README snippet differs from billing/membilling/example_test.go:\n--- README\n%s\n--- example\n%s", got, strings.Join(want, "\n"))
	}
}
