// Package resource is Sluice's resource model, shared by the API, stack
// files, the store and the control plane: inputs, channels, ladders and
// stacks, with the validation that names every wrong field.
package resource
