// Command plotcurve records a training run of `inception train`: it turns
// the run's logs into a metrics CSV, and renders that CSV as a PNG of the
// training curves.
//
//	go run ./scripts/plotcurve -log /tmp/train-d2l/train.log,/tmp/train-d2l/train2.log -out assets/train-d2l-metrics.csv
//	go run ./scripts/plotcurve -in assets/train-d2l-metrics.csv -out assets/train-d2l-curve.png
//
// -log reads the logs in the order given (a run stopped and resumed from
// its checkpoint writes one log per process). It keeps the progress lines
// ("epoch E/N [...] B/S loss L acc A X img/s lr R": loss and accuracy
// averaged over the steps since the previous line, on the training
// batches), the end-of-epoch lines ("epoch E/N done: ... test acc T ...")
// and the final `inception eval` line ("top-1 accuracy T on N images").
// When a log says "resumed ... (step K)", the rows of earlier logs after
// step K are dropped (the resumed process recomputed those steps) and a
// "resume" row at step K records the restart.
//
// The CSV has one row per record, columns
//
//	kind,step,epoch,loss,train_acc,test_acc,img_per_s,lr,seconds,source
//
// with kind "step", "epoch", "resume" or "eval"; step is the global optimizer step
// (the epoch's steps before it plus the batch); empty cells are values a
// record does not have. -in draws loss, accuracy (train windows, test
// accuracy after each epoch and the final eval) and the learning rate
// against the step, in three aligned panels.
package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// errFormat reports a log or CSV that does not have the expected form.
var errFormat = errors.New("plotcurve: bad input")

// Record is one row of the metrics CSV; NaN marks a missing value.
type Record struct {
	Kind                                       string // "step", "epoch", "resume" or "eval"
	Step, Epoch                                int
	Loss, TrainAcc, TestAcc, ImgPerS, LR, Secs float64
	Source                                     string // base name of the log
}

var header = []string{"kind", "step", "epoch", "loss", "train_acc", "test_acc", "img_per_s", "lr", "seconds", "source"}

var (
	reProgress = regexp.MustCompile(`^epoch (\d+)/(\d+) \[[= ]*\] (\d+)/(\d+) loss (\S+) acc (\S+) (\S+) img/s lr (\S+)$`)
	reEpoch    = regexp.MustCompile(`^epoch (\d+)/(\d+) done: loss (\S+) train acc (\S+) test acc (\S+), (\S+) img/s, (\S+) s$`)
	reResumed  = regexp.MustCompile(`^resumed .* at epoch (\d+), batch \d+ \(step (\d+)\)$`)
	reEval     = regexp.MustCompile(`: top-1 accuracy (\S+) on (\d+) images`)
)

func nan() float64 { return math.NaN() }

// parseLog appends the records of one log to recs, applying its resume
// line to the records of earlier logs.
func parseLog(recs []Record, r io.Reader, source string) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	perEpoch, last := 0, 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		fail := func(err error) error { return fmt.Errorf("%w: %s:%d: %q: %v", errFormat, source, n, line, err) }
		var m []string
		switch {
		case match(reResumed, line, &m):
			k := atoi(m[2])
			kept := recs[:0]
			for _, rec := range recs {
				if rec.Step <= k {
					kept = append(kept, rec)
				}
			}
			recs = append(kept, Record{"resume", k, atoi(m[1]), nan(), nan(), nan(), nan(), nan(), nan(), source})
		case match(reProgress, line, &m):
			v, err := floats(m[5:9])
			if err != nil {
				return nil, fail(err)
			}
			e, b, s := atoi(m[1]), atoi(m[3]), atoi(m[4])
			perEpoch = s
			last = (e-1)*s + b
			recs = append(recs, Record{"step", last, e, v[0], v[1], nan(), v[2], v[3], nan(), source})
		case match(reEpoch, line, &m):
			v, err := floats(m[3:8])
			if err != nil {
				return nil, fail(err)
			}
			if perEpoch == 0 {
				return nil, fail(errors.New("end of epoch before any progress line"))
			}
			e := atoi(m[1])
			last = e * perEpoch
			recs = append(recs, Record{"epoch", last, e, v[0], v[1], v[2], v[3], nan(), v[4], source})
		case match(reEval, line, &m):
			v, err := floats(m[1:2])
			if err != nil {
				return nil, fail(err)
			}
			rec := Record{"eval", last, 0, nan(), nan(), v[0], nan(), nan(), nan(), source}
			if len(recs) > 0 {
				rec.Step, rec.Epoch = recs[len(recs)-1].Step, recs[len(recs)-1].Epoch
			}
			recs = append(recs, rec)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("plotcurve: %s: %w", source, err)
	}
	return recs, nil
}

// match reports whether re matches s, setting *m to the submatches.
func match(re *regexp.Regexp, s string, m *[]string) bool {
	*m = re.FindStringSubmatch(s)
	return *m != nil
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n } // the regexps admit digits only

func floats(ss []string) ([]float64, error) {
	v := make([]float64, len(ss))
	for i, s := range ss {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, err
		}
		v[i] = f
	}
	return v, nil
}

func cell(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// writeCSV writes recs with the header.
func writeCSV(w io.Writer, recs []Record) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range recs {
		row := []string{r.Kind, strconv.Itoa(r.Step), strconv.Itoa(r.Epoch),
			cell(r.Loss), cell(r.TrainAcc), cell(r.TestAcc), cell(r.ImgPerS), cell(r.LR), cell(r.Secs), r.Source}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// readCSV reads a metrics CSV written by writeCSV.
func readCSV(r io.Reader) ([]Record, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errFormat, err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(header, ",") {
		return nil, fmt.Errorf("%w: want the header %s", errFormat, strings.Join(header, ","))
	}
	var recs []Record
	for i, row := range rows[1:] {
		f := make([]float64, 6)
		for k := range f {
			s := row[3+k]
			if s == "" {
				f[k] = nan()
				continue
			}
			if f[k], err = strconv.ParseFloat(s, 64); err != nil {
				return nil, fmt.Errorf("%w: row %d column %s: %v", errFormat, i+2, header[3+k], err)
			}
		}
		step, err1 := strconv.Atoi(row[1])
		epoch, err2 := strconv.Atoi(row[2])
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("%w: row %d: %v", errFormat, i+2, err)
		}
		recs = append(recs, Record{row[0], step, epoch, f[0], f[1], f[2], f[3], f[4], f[5], row[9]})
	}
	return recs, nil
}

// points returns (step, value) of the records of kind whose value is set.
func points(recs []Record, kind string, value func(Record) float64) plotter.XYs {
	var xy plotter.XYs
	for _, r := range recs {
		if v := value(r); r.Kind == kind && !math.IsNaN(v) {
			xy = append(xy, plotter.XY{X: float64(r.Step), Y: v})
		}
	}
	return xy
}

// render draws recs as a PNG into w.
func render(w io.Writer, recs []Record, title string) error {
	steps := points(recs, "step", func(r Record) float64 { return r.Loss })
	if len(steps) < 2 {
		return fmt.Errorf("%w: fewer than two progress records", errFormat)
	}
	blue := color.RGBA{31, 119, 180, 255}
	orange := color.RGBA{255, 127, 14, 255}
	green := color.RGBA{44, 160, 44, 255}
	red := color.RGBA{214, 39, 40, 255}
	line := func(p *plot.Plot, xy plotter.XYs, c color.Color, name string) error {
		if len(xy) == 0 {
			return nil
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color, l.Width = c, vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	dots := func(p *plot.Plot, xy plotter.XYs, c color.Color, shape draw.GlyphDrawer, name string) error {
		if len(xy) == 0 {
			return nil
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return err
		}
		s.Color, s.Shape, s.Radius = c, shape, vg.Points(4)
		p.Add(s)
		p.Legend.Add(name, s)
		return nil
	}
	newPlot := func(title, y string) *plot.Plot {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "step"
		p.Y.Label.Text = y
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
		return p
	}

	loss := newPlot(title, "cross-entropy loss")
	if err := line(loss, steps, blue, "train loss (mean over the last log window)"); err != nil {
		return err
	}
	loss.Legend.Left = false
	loss.Y.Min = 0

	acc := newPlot("", "top-1 accuracy")
	if err := line(acc, points(recs, "step", func(r Record) float64 { return r.TrainAcc }), orange, "train accuracy (log window)"); err != nil {
		return err
	}
	if err := dots(acc, points(recs, "epoch", func(r Record) float64 { return r.TestAcc }), green, draw.CircleGlyph{}, "test accuracy after each epoch (10,000 images)"); err != nil {
		return err
	}
	if err := dots(acc, points(recs, "eval", func(r Record) float64 { return r.TestAcc }), red, draw.CrossGlyph{}, "inception eval of the exported float16 ONNX"); err != nil {
		return err
	}
	acc.Y.Min, acc.Y.Max = 0, 1
	acc.Legend.Top, acc.Legend.Left = false, false
	acc.Legend.YOffs = vg.Points(10)

	lr := newPlot("", "learning rate")
	if err := line(lr, points(recs, "step", func(r Record) float64 { return r.LR }), red, "Adam lr (cosine schedule)"); err != nil {
		return err
	}
	lr.Y.Min = 0
	lr.Legend.Left = false

	xmax := 0.0
	for _, r := range recs {
		xmax = math.Max(xmax, float64(r.Step))
	}
	// A dashed line where the run was stopped and resumed from its
	// checkpoint.
	for _, r := range recs {
		if r.Kind != "resume" {
			continue
		}
		at := float64(r.Step)
		for k, p := range []*plot.Plot{loss, acc, lr} {
			l, err := plotter.NewLine(plotter.XYs{{X: at, Y: p.Y.Min}, {X: at, Y: math.Max(p.Y.Max, p.Y.Min+1e-9)}})
			if err != nil {
				return err
			}
			l.Color, l.Dashes = color.Gray{Y: 110}, []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(l)
			if k == 0 {
				p.Legend.Add(fmt.Sprintf("resumed from the step-%d checkpoint (%s)", r.Step, r.Source), l)
			}
		}
	}
	for _, p := range []*plot.Plot{loss, acc, lr} {
		p.X.Min, p.X.Max = 0, xmax
	}
	const width, height = 9 * vg.Inch, 10 * vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	// White background: PNG viewers show transparency differently.
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	tiles := draw.Tiles{Rows: 3, Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12), PadY: vg.Points(10)}
	cv := plot.Align([][]*plot.Plot{{loss}, {acc}, {lr}}, tiles, dc)
	loss.Draw(cv[0][0])
	acc.Draw(cv[1][0])
	lr.Draw(cv[2][0])
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// writeFile writes a file through fill, atomically.
func writeFile(path string, fill func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("plotcurve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logs := fs.String("log", "", "comma-separated training logs, in order: write the metrics CSV to -out")
	in := fs.String("in", "", "metrics CSV: render the PNG -out")
	out := fs.String("out", "", "output file (CSV with -log, PNG with -in)")
	title := fs.String("title", "inception-v1-d2l on Fashion-MNIST 28x28 (gorgonia, Adam + cosine, batch 128)", "plot title")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*logs == "") == (*in == "") || *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("plotcurve: give -log LOGS -out FILE.csv, or -in FILE.csv -out FILE.png")
	}
	if *logs != "" {
		var recs []Record
		for _, p := range strings.Split(*logs, ",") {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			recs, err = parseLog(recs, f, filepath.Base(p))
			f.Close()
			if err != nil {
				return err
			}
		}
		if len(recs) == 0 {
			return fmt.Errorf("%w: no training records in %s", errFormat, *logs)
		}
		return writeFile(*out, func(w io.Writer) error { return writeCSV(w, recs) })
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	recs, err := readCSV(f)
	f.Close()
	if err != nil {
		return err
	}
	return writeFile(*out, func(w io.Writer) error { return render(w, recs, *title) })
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
