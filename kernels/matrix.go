package kernels

import "fmt"

// Matrix is a 2-D weight tensor in ggml order: Rows rows of Cols values, each
// row RowBytes(Cols) bytes, rows stored one after another.
type Matrix struct {
	Type       Type
	Rows, Cols int
	Data       []byte
}

// NewMatrix checks that t is supported, that Cols is a whole number of blocks
// and that data holds exactly Rows rows.
func NewMatrix(t Type, rows, cols int, data []byte) (Matrix, error) {
	if !t.Supported() {
		return Matrix{}, fmt.Errorf("kernels: matrix of type %s: no kernels for this type (supported: %v)", t, SupportedNames())
	}
	if rows < 0 || cols < 0 {
		return Matrix{}, fmt.Errorf("kernels: matrix %dx%d: negative dimension", rows, cols)
	}
	rb, err := t.RowBytes(cols)
	if err != nil {
		return Matrix{}, fmt.Errorf("kernels: matrix %dx%d: %v", rows, cols, err)
	}
	if rows > 0 && rb > 0 && rows > int(^uint(0)>>1)/rb {
		return Matrix{}, fmt.Errorf("kernels: matrix %dx%d %s: size overflows", rows, cols, t)
	}
	if len(data) != rows*rb {
		return Matrix{}, fmt.Errorf("kernels: matrix %dx%d %s: data is %d bytes, want %d", rows, cols, t, len(data), rows*rb)
	}
	return Matrix{Type: t, Rows: rows, Cols: cols, Data: data}, nil
}

// RowBytes is the size of one row in bytes.
func (m Matrix) RowBytes() int { n, _ := m.Type.RowBytes(m.Cols); return n }

// Row returns the raw bytes of row r.
func (m Matrix) Row(r int) []byte {
	rb := m.RowBytes()
	return m.Data[r*rb : (r+1)*rb : (r+1)*rb]
}
