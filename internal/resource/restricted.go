package resource

// RestrictsViewers reports whether the endpoint admits only some viewers:
// it requires signed URLs, or its content keys need a token.
func (o OutputGroup) RestrictsViewers() bool {
	return o.RequireSignedURLs || (o.Encryption != nil && o.Encryption.KeyToken != "")
}

// RestrictsViewers reports whether any endpoint of the channel admits only
// some viewers. Its decoded pictures are then not for everyone either: the
// frames API asks for credentials even where other reads need none.
func (s *ChannelSpec) RestrictsViewers() bool {
	for _, o := range s.EffectiveOutputs() {
		if o.RestrictsViewers() {
			return true
		}
	}
	return false
}
