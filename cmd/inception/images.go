package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/inceptionzoo/inception/preprocess"
)

// This file holds what every command that reads images shares: turning
// arguments into image files, and a progress bar.

// isImage reports whether name has an extension package preprocess decodes.
func isImage(name string) bool { return preprocess.IsImage(name) }

// listImages turns arguments into image paths: files as given, directories
// as their image files (sorted by name, not recursive, as accept says),
// glob patterns as their matching image files, sorted. batch reports
// whether the arguments name more than one image or any directory or
// pattern.
func listImages(verb string, args []string, accept func(string) bool) (paths []string, batch bool, err error) {
	for _, a := range args {
		st, err := os.Stat(a)
		switch {
		case err == nil && st.IsDir():
			batch = true
			ents, err := os.ReadDir(a)
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", verb, err)
			}
			n := len(paths)
			for _, e := range ents {
				if e.Type().IsRegular() && accept(e.Name()) {
					paths = append(paths, filepath.Join(a, e.Name()))
				}
			}
			if len(paths) == n {
				return nil, false, fmt.Errorf("%s: directory %s has no image files (%s)", verb, a, strings.Join(preprocess.Extensions(), " "))
			}
		case err == nil:
			paths = append(paths, a)
		case strings.ContainsAny(a, "*?["):
			batch = true
			matches, gerr := filepath.Glob(a)
			if gerr != nil {
				return nil, false, fmt.Errorf("%s: pattern %q: %w", verb, a, gerr)
			}
			sort.Strings(matches)
			n := len(paths)
			for _, m := range matches {
				if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() && accept(m) {
					paths = append(paths, m)
				}
			}
			if len(paths) == n {
				return nil, false, fmt.Errorf("%s: no image files (%s) match %q", verb, strings.Join(preprocess.Extensions(), " "), a)
			}
		default:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, false, fmt.Errorf("%s: image %s: %w", verb, a, err)
		}
	}
	return paths, batch || len(paths) > 1, nil
}

// drawProgress forces progress bars onto writers that are not terminals
// (tests set it).
var drawProgress = false

// isTerminal reports whether w is a character device (a terminal), where a
// redrawn progress line makes sense; logs and pipes get none.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress is a one-line progress bar of images done, drawn only on a
// terminal; a nil *progress draws nothing.
type progress struct {
	w           io.Writer
	label       string
	done, total int
	start, last time.Time
	width       int
}

// newProgress returns a bar for total images on w, or nil when w is not a
// terminal.
func newProgress(w io.Writer, label string, total int) *progress {
	if !drawProgress && !isTerminal(w) {
		return nil
	}
	now := time.Now()
	return &progress{w: w, label: label, total: total, start: now}
}

// add counts n more images and redraws at most 4 times a second.
func (p *progress) add(n int) {
	if p == nil {
		return
	}
	p.done += n
	if now := time.Now(); now.Sub(p.last) >= 250*time.Millisecond || p.done == p.total {
		p.last = now
		p.draw()
	}
}

func (p *progress) draw() {
	const width = 30
	fill := width * p.done / max(p.total, 1)
	rate := float64(p.done) / max(time.Since(p.start).Seconds(), 1e-9)
	line := fmt.Sprintf("%s [%s%s] %d/%d images, %.1f images/s", p.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), p.done, p.total, rate)
	pad := ""
	if len(line) < p.width {
		pad = strings.Repeat(" ", p.width-len(line))
	}
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
	p.width = len(line)
}

// clear blanks the bar's line so that output to the same terminal starts
// at column 0; the next add draws it again.
func (p *progress) clear() {
	if p != nil && p.width > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
		p.width = 0
	}
}

// finish ends the bar's line.
func (p *progress) finish() {
	if p != nil && p.width > 0 {
		fmt.Fprintln(p.w)
	}
}
