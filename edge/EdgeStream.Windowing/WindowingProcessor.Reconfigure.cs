namespace EdgeStream.Windowing;

public sealed partial class WindowingProcessor
{
    /// <summary>
    /// Applies new options live: returns a processor for <paramref name="options"/> that carries on where this
    /// one stops, so a configuration push does not make every tag arrive again. This processor is flushed
    /// (buffered reads windowed, observations emitted) and must not be used afterwards. Tags present in a zone
    /// that still exists (by name) stay there, with their last-seen time and stay evidence; their RSSI window
    /// starts afresh, so the new zone's hold-off applies from now. Tags in a zone that no longer exists, or
    /// beyond the new <see cref="WindowingOptions.MaxTrackedTags"/>, depart now. Event time continues: reads
    /// older than what this processor already windowed count as late in the new one.
    /// </summary>
    /// <exception cref="WindowingOptionsException">The new options are not valid; nothing is changed.</exception>
    public WindowingProcessor Reconfigure(WindowingOptions options, IWindowOutput output)
    {
        var next = new WindowingProcessor(options); // validates before anything is touched
        Flush(output);

        next._maxEventUs = _maxEventUs;
        next._sweepUs = _sweepUs;
        next._readSinceTick = _readSinceTick;
        next._anchored = _anchored;
        next._anchorProcessingUs = _anchorProcessingUs;
        next._anchorEventUs = _anchorEventUs;
        var nowUs = _maxEventUs == long.MinValue ? 0 : _maxEventUs;

        _arbiter.CarryInto(next._arbiter, nowUs, output);
        return next;
    }
}
