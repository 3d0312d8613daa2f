// Command frontend-image writes the Hadron gateway frontend image (the
// hadron-frontend entrypoint plus the hadron binary its ELF gates and boot
// steps run)
// as an OCI image layout tarball, without a Docker engine, as `make
// frontend-image` does. Optionally it also pushes the image to a registry.
//
//	go run ./tests/tools/frontend-image -frontend out/bin/hadron-frontend -hadron out/bin/hadron -o out/hadron-frontend.oci.tar
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontendimage"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "frontend-image:", err)
		os.Exit(1)
	}
}

func run() error {
	frontendBin := flag.String("frontend", "out/bin/hadron-frontend", "static hadron-frontend binary")
	hadronBin := flag.String("hadron", "out/bin/hadron", "static hadron binary")
	out := flag.String("o", "out/hadron-frontend.oci.tar", "OCI layout tarball to write")
	ref := flag.String("name", "hadron-frontend:dev", "image name recorded in the layout (org.opencontainers.image.ref.name)")
	arch := flag.String("arch", "amd64", "image architecture (the binaries' GOARCH)")
	push := flag.String("push", "", "also push the image to this reference (e.g. localhost:5000/hadron/frontend:dev)")
	flag.Parse()
	epoch := int64(0)
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
		}
		epoch = n
	}
	fe, err := os.ReadFile(*frontendBin)
	if err != nil {
		return err
	}
	hd, err := os.ReadFile(*hadronBin)
	if err != nil {
		return err
	}
	img, err := frontendimage.Build(fe, hd, *arch, epoch)
	if err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := frontendimage.WriteOCITar(w, img, *ref, epoch); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	dgst, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s (%s)\n", *out, *ref, dgst)
	if *push != "" {
		r, err := name.ParseReference(*push)
		if err != nil {
			return fmt.Errorf("-push: %w", err)
		}
		if err := remote.Write(r, img); err != nil {
			return fmt.Errorf("push %s: %w", *push, err)
		}
		fmt.Printf("pushed %s@%s\n", r.Context(), dgst)
	}
	return nil
}
