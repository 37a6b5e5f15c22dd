package statedict

import (
	"bytes"
	"io"
)

func bytesReaderAt(b []byte) io.ReaderAt { return bytes.NewReader(b) }
