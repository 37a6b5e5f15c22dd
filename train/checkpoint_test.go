package train

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/nn"
)

// resumeConfig is a small run that checkpoints into dir.
func resumeConfig(t *testing.T, dir string, limit, maxSteps int) Config {
	g, p := tinyGraph(t)
	set := randomSet(t, 32, nn.Shape{1, 8, 8}, 3, 9).Subset(limit)
	return Config{Model: "tiny", Graph: g, Params: p, Train: set, Epochs: 2, Batch: 8,
		Optimizer: &SGD{Momentum: 0.9}, Schedule: Schedule{Base: 0.02}, Seed: 4,
		CheckpointDir: dir, MaxSteps: maxSteps}
}

// TestResumeOtherData: a checkpoint records the training set's
// fingerprint; resuming on other data (another --limit) is refused.
func TestResumeOtherData(t *testing.T) {
	dir := t.TempDir()
	_, err := Run(resumeConfig(t, dir, 0, 2))
	require.NoError(t, err)
	_, err = Run(resumeConfig(t, dir, 24, 0))
	require.ErrorIs(t, err, ErrCheckpoint)
	require.ErrorContains(t, err, "data")
	_, err = Run(resumeConfig(t, dir, 0, 0)) // the same data resumes
	require.NoError(t, err)
}

// writeCheckpoint saves a valid checkpoint of resumeConfig in dir, lets
// mutate change it and writes it back.
func writeCheckpoint(t *testing.T, dir string, mutate func(*checkpoint)) {
	t.Helper()
	_, err := Run(resumeConfig(t, dir, 0, 3))
	require.NoError(t, err)
	path := filepath.Join(dir, checkpointFile)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var ck checkpoint
	require.NoError(t, gob.NewDecoder(bytes.NewReader(b)).Decode(&ck))
	mutate(&ck)
	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(&ck))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

// TestHostileCheckpoints: crafted checkpoints are errors naming what is
// wrong, never a panic (Batch = -1 used to index the permutation).
func TestHostileCheckpoints(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*checkpoint)
		want   string
	}{
		{"negative batch", func(c *checkpoint) { c.Batch = -1 }, "position"},
		{"batch past the epoch", func(c *checkpoint) { c.Batch = 4; c.Steps = 4; c.Opt.Steps = 4 }, "position epoch 0 batch 4"},
		{"huge epoch", func(c *checkpoint) { c.Epoch = 1 << 40 }, "position"},
		{"negative steps", func(c *checkpoint) { c.Steps = -5 }, "position"},
		{"steps off the position", func(c *checkpoint) { c.Steps = 7 }, "steps done"},
		{"zero batch size", func(c *checkpoint) { c.BatchSize = 0 }, "batch size 0"},
		{"other batch size", func(c *checkpoint) { c.BatchSize = 4 }, "batch 4"},
		{"version 1", func(c *checkpoint) { c.Version = 1 }, "version 1"},
		{"short tensor", func(c *checkpoint) { c.Params["fc.weight"] = c.Params["fc.weight"][:3] }, "fc.weight has 3 values"},
		{"missing tensor", func(c *checkpoint) { delete(c.Params, "fc.bias") }, "tensors"},
		{"short optimizer buffer", func(c *checkpoint) { c.Opt.Buffers[0][1] = c.Opt.Buffers[0][1][:1] }, "optimizer tensor 1"},
		{"optimizer kind", func(c *checkpoint) { c.Opt.Kind = "adam" }, "want sgd"},
		{"history longer than the run", func(c *checkpoint) { c.History = make([]EpochStats, 5) }, "history"},
		{"other data", func(c *checkpoint) { c.Data = "sha256:00" }, "data"},
		{"other model", func(c *checkpoint) { c.Model = "other" }, "checkpoint of other"},
		{"negative aux weight", func(c *checkpoint) { c.AuxWeight = -1 }, "auxiliary"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCheckpoint(t, dir, tc.mutate)
			_, err := Run(resumeConfig(t, dir, 0, 0))
			require.ErrorIs(t, err, ErrCheckpoint)
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("oversized file", func(t *testing.T) {
		dir := t.TempDir()
		writeCheckpoint(t, dir, func(c *checkpoint) {})
		f, err := os.OpenFile(filepath.Join(dir, checkpointFile), os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		cfg := resumeConfig(t, dir, 0, 0)
		_, err = f.Write(make([]byte, checkpointLimit(cfg.Params, len(cfg.Params))))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		_, err = Run(cfg)
		require.ErrorIs(t, err, ErrCheckpoint)
		require.ErrorContains(t, err, "more than this model's checkpoint can have")
	})
	t.Run("garbage", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, checkpointFile), []byte("not a gob"), 0o644))
		_, err := Run(resumeConfig(t, dir, 0, 0))
		require.ErrorIs(t, err, ErrCheckpoint)
	})
}

// TestLockTwoProcesses: while one process trains in a checkpoint
// directory, another one is refused with ErrLocked naming the holder;
// after it ends, the directory can be used.
func TestLockTwoProcesses(t *testing.T) {
	if os.Getenv("INCEPTION_TRAIN_LOCK_HELPER") != "" {
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestLockHelper$")
	cmd.Env = append(os.Environ(), "INCEPTION_TRAIN_LOCK_HELPER="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// wait for the helper to hold the lock
	buf := make([]byte, 64)
	var got string
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(got, "locked") && time.Now().Before(deadline) {
		n, err := stdout.Read(buf)
		got += string(buf[:n])
		if err != nil {
			break
		}
	}
	require.Contains(t, got, "locked", "helper output")
	_, err = Run(resumeConfig(t, dir, 0, 1))
	require.ErrorIs(t, err, ErrLocked)
	require.ErrorContains(t, err, fmt.Sprintf("process %d", cmd.Process.Pid))
	require.NoError(t, stdin.Close()) // the helper unlocks and exits
	require.NoError(t, cmd.Wait())
	_, err = Run(resumeConfig(t, dir, 0, 1))
	require.NoError(t, err)
}

// TestLockHelper is the other process of TestLockTwoProcesses: it locks
// the directory, says so and waits for its standard input to close.
func TestLockHelper(t *testing.T) {
	dir := os.Getenv("INCEPTION_TRAIN_LOCK_HELPER")
	if dir == "" {
		t.Skip("helper process of TestLockTwoProcesses")
	}
	unlock, err := lockDir(dir)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	unlock()
}

// FuzzCheckpoint: any bytes as a checkpoint file give an error wrapping
// ErrCheckpoint or a checkpoint that restore accepts or refuses with
// ErrCheckpoint, never a panic.
func FuzzCheckpoint(f *testing.F) {
	dir := f.TempDir()
	valid := func(mutate func(*checkpoint)) []byte {
		cfg := resumeConfigF(f, dir)
		_, err := Run(cfg)
		if err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, checkpointFile))
		if err != nil {
			f.Fatal(err)
		}
		var ck checkpoint
		if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&ck); err != nil {
			f.Fatal(err)
		}
		mutate(&ck)
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(&ck); err != nil {
			f.Fatal(err)
		}
		return buf.Bytes()
	}
	good := valid(func(*checkpoint) {})
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:40])
	f.Add(valid(func(c *checkpoint) { c.Batch = -1 }))
	f.Add(valid(func(c *checkpoint) { c.Epoch = 1 << 40; c.History = nil }))
	f.Add(valid(func(c *checkpoint) { c.Params["fc.weight"] = nil }))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		ck, err := decodeCheckpoint(bytes.NewReader(b), 1<<20)
		if err != nil {
			if !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("error %v is not ErrCheckpoint", err)
			}
			return
		}
		cfg := resumeConfigF(t, "")
		params := make([][]float32, 0, len(cfg.Params))
		for _, s := range cfg.Graph.Params() {
			if s.Trainable() {
				params = append(params, cfg.Params[s.Path].Data)
			}
		}
		if err := restore(ck, &cfg, params, 4, "fp"); err != nil && !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("restore: %v is not ErrCheckpoint", err)
		}
	})
}

// resumeConfigF is resumeConfig for fuzz targets (no *testing.T).
func resumeConfigF(tb testing.TB, dir string) Config {
	g, err := nn.Lower(tinyNet(), nn.Shape{1, 8, 8})
	if err != nil {
		tb.Fatal(err)
	}
	set := randomSetTB(tb, 32, nn.Shape{1, 8, 8}, 3, 9)
	return Config{Model: "tiny", Graph: g, Params: nn.InitParams(g, 3), Train: set, Epochs: 2, Batch: 8,
		Optimizer: &SGD{Momentum: 0.9}, Schedule: Schedule{Base: 0.02}, Seed: 4, CheckpointDir: dir, MaxSteps: 3}
}
