namespace Mutt.Ingestor.Syslog;

/// <summary>A complete syslog frame; <see cref="Truncated"/> when it was cut at the size limit.</summary>
public readonly record struct SyslogFrame(byte[] Data, bool Truncated);

/// <summary>
/// Splits a TCP byte stream into syslog frames (RFC 6587), detecting per frame whether the sender
/// uses octet counting ("LEN SP MSG") or newline termination; a digit-led frame whose count is
/// not followed by a space is treated as a line. Memory is bounded by the frame limit: longer
/// frames are emitted cut (flagged) and the rest of them is skipped, never buffered.
/// Pure: feed it bytes, collect frames.
/// </summary>
public sealed class SyslogFramer(int maxFrameBytes)
{
    private enum State { Start, Count, Octets, Line, SkipOctets, SkipLine }

    private readonly byte[] _buffer = new byte[maxFrameBytes];
    private int _length;
    private State _state = State.Start;
    private long _remaining;

    public void Feed(ReadOnlySpan<byte> data, List<SyslogFrame> frames)
    {
        var i = 0;
        while (i < data.Length)
        {
            switch (_state)
            {
                case State.Start:
                    var b = data[i];
                    if (b is (byte)'\n' or (byte)'\r' or 0 or (byte)' ')
                    {
                        i++;
                    }
                    else if (b is >= (byte)'1' and <= (byte)'9')
                    {
                        _state = State.Count;
                        _length = 0;
                        _remaining = 0;
                    }
                    else
                    {
                        _state = State.Line;
                        _length = 0;
                    }
                    break;

                case State.Count:
                    var d = data[i];
                    if (d is >= (byte)'0' and <= (byte)'9' && _length < 10)
                    {
                        _buffer[_length++] = d;
                        _remaining = _remaining * 10 + (d - '0');
                        i++;
                    }
                    else if (d == (byte)' ')
                    {
                        i++;
                        _length = 0;
                        _state = State.Octets;
                        if (_remaining == 0)
                        {
                            _state = State.Start;
                        }
                    }
                    else
                    {
                        // Not an octet count after all: the digits start a newline-framed line.
                        _state = State.Line;
                    }
                    break;

                case State.Octets:
                    var room = (int)Math.Min(_remaining, _buffer.Length - _length);
                    var take = Math.Min(room, data.Length - i);
                    data.Slice(i, take).CopyTo(_buffer.AsSpan(_length));
                    _length += take;
                    _remaining -= take;
                    i += take;
                    if (_remaining == 0)
                    {
                        Emit(frames, truncated: false);
                        _state = State.Start;
                    }
                    else if (_length == _buffer.Length)
                    {
                        Emit(frames, truncated: true);
                        _state = State.SkipOctets;
                    }
                    break;

                case State.SkipOctets:
                    var skip = (int)Math.Min(_remaining, data.Length - i);
                    _remaining -= skip;
                    i += skip;
                    if (_remaining == 0)
                    {
                        _state = State.Start;
                    }
                    break;

                case State.Line:
                    var rest = data[i..];
                    var newline = rest.IndexOf((byte)'\n');
                    var chunk = newline < 0 ? rest : rest[..newline];
                    var fits = Math.Min(chunk.Length, _buffer.Length - _length);
                    chunk[..fits].CopyTo(_buffer.AsSpan(_length));
                    _length += fits;
                    if (fits < chunk.Length || (_length == _buffer.Length && newline != fits))
                    {
                        Emit(frames, truncated: true);
                        i += fits;
                        _state = State.SkipLine;
                    }
                    else if (newline >= 0)
                    {
                        Emit(frames, truncated: false);
                        i += newline + 1;
                        _state = State.Start;
                    }
                    else
                    {
                        i = data.Length;
                    }
                    break;

                case State.SkipLine:
                    var end = data[i..].IndexOf((byte)'\n');
                    if (end < 0)
                    {
                        i = data.Length;
                    }
                    else
                    {
                        i += end + 1;
                        _state = State.Start;
                    }
                    break;
            }
        }
    }

    /// <summary>At end of stream: a final line without its newline is still a message.</summary>
    public void Flush(List<SyslogFrame> frames)
    {
        if (_state is State.Line or State.Count && _length > 0)
        {
            Emit(frames, truncated: false);
        }
        else if (_state == State.Octets && _length > 0)
        {
            Emit(frames, truncated: true);
        }
        _state = State.Start;
        _length = 0;
    }

    private void Emit(List<SyslogFrame> frames, bool truncated)
    {
        var end = _length;
        while (end > 0 && _buffer[end - 1] == (byte)'\r')
        {
            end--;
        }
        if (end > 0)
        {
            frames.Add(new SyslogFrame(_buffer.AsSpan(0, end).ToArray(), truncated));
        }
        _length = 0;
    }
}
