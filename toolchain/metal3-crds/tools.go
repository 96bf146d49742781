//go:build tools

// The packages generate.sh runs controller-gen on, pinned by this module.
package tools

import (
	_ "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
