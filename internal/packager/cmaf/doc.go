// Package cmaf is Sluice's packager core: it reads the fragmented MP4 the
// encoder writes for each rendition, cuts segments on a grid shared by every
// rendition, and keeps the channel's timeline (runs, numbered segments, the
// window) from which manifests are rendered and segments served.
package cmaf
