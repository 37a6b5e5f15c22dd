package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/inceptionzoo/inception/internal/testkit"
)

// TestGeneratedAssembly checks that the committed assembly and its Go
// declarations are exactly what the avo generator (internal/asm) writes
// today, so that nobody edits the generated files by hand or forgets to
// run `go generate ./engine/kernels` after changing the generator.
func TestGeneratedAssembly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the assembly generator")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		testkit.Missing(t, "the go command (to build internal/asm): %v", err)
		return
	}
	dir := t.TempDir()
	gen := filepath.Join(dir, "asmgen")
	if out, err := exec.Command(goTool, "build", "-o", gen, "./internal/asm").CombinedOutput(); err != nil {
		t.Fatalf("go build ./internal/asm: %v\n%s", err, out)
	}
	// The same arguments as the go:generate line in kernels_amd64.go, so
	// that the header comment matches too.
	cmd := exec.Command(gen, "-out", "kernels_amd64.s", "-stubs", "kernels_amd64_stubs.go", "-pkg", "kernels")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("internal/asm: %v\n%s", err, out)
	}
	for _, name := range []string{"kernels_amd64.s", "kernels_amd64_stubs.go"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output: run go generate ./engine/kernels", name)
		}
	}
}
