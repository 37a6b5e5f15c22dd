package zoo_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/zoo"
)

const shipped = "../assets/inception-v1-d2l-fmnist28.onnx"

// TestFileSetsInputSize: the shipped 28x28 Fashion-MNIST file loaded onto
// the 96x96 architecture runs at 28x28 (the size its graph records), with
// its labels and preprocessing — not silently at 96x96.
func TestFileSetsInputSize(t *testing.T) {
	m, err := zoo.Load("inception-v1-d2l", zoo.WithWeights(shipped))
	require.NoError(t, err)
	require.Equal(t, nn.Shape{1, 28, 28}, m.Input())
	require.Equal(t, 28, m.Preprocess().Crop)
	require.Equal(t, labels.FashionMNIST(), m.Labels())
	require.False(t, m.Seeded())
	require.Nil(t, m.Tag())

	// The same file through its tag, found in a read-only source.
	cache := t.TempDir()
	tagged, err := zoo.Load("inception-v1-d2l.fmnist28", zoo.Pretrained(zoo.PretrainedCache(cache), zoo.PretrainedSources(os.DirFS("../assets"))))
	require.NoError(t, err)
	require.Equal(t, "inception-v1-d2l.fmnist28", tagged.Name())
	require.Equal(t, m.Input(), tagged.Input())
	require.FileExists(t, filepath.Join(cache, "inception-v1-d2l-fmnist28.onnx"))
	for path, p := range m.Params {
		require.Equal(t, p.Data, tagged.Params[path].Data, path)
	}

	md, err := zoo.ReadMetadata(shipped)
	require.NoError(t, err)
	require.Equal(t, "inception-v1-d2l", md.Model)
	require.Equal(t, nn.Shape{1, 28, 28}, md.Input)
	require.Equal(t, 10, md.Classes)
}
