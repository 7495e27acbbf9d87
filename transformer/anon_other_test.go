//go:build !unix

package transformer

import "fmt"

func allocAnonHuge(int) ([]byte, error) {
	return nil, fmt.Errorf("anonymous huge-page memory needs a unix system")
}

func readAnonHuge(path string) ([]byte, error) {
	return nil, fmt.Errorf("%s: anonymous huge-page memory needs a unix system", path)
}

func freeAnon([]byte) {}
