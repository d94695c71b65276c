namespace Mutt.Ingestor.Relp;

/// <summary>
/// One RELP frame (rsyslog's relp.txt: <c>TXNR SP COMMAND SP DATALEN [SP DATA] LF</c>).
/// <see cref="Truncated"/>: DATA was longer than the limit and only its first bytes were kept.
/// <see cref="Error"/>: the bytes were not a frame; the stream cannot be resynchronised after it.
/// </summary>
public sealed record RelpFrame(long Txnr, string Command, byte[] Data, bool Truncated, string? Error = null);

/// <summary>
/// Splits a RELP byte stream into frames. Pure: feed bytes, collect frames. Memory is bounded by
/// the data limit: a longer DATA is kept cut (flagged) and the rest is skipped, never buffered.
/// After a malformed frame (non-digit TXNR/DATALEN, over-long fields, a missing LF trailer) it
/// emits one frame with <see cref="RelpFrame.Error"/> set and ignores everything after it: a
/// byte-counted stream has no reliable resync point, so the caller answers and closes.
/// </summary>
public sealed class RelpFramer(int maxDataBytes)
{
    private enum State { Txnr, Command, DataLength, Data, Skip, Trailer, Broken }

    private const int MaxDigits = 9;   // relp.txt: TXNR and DATALEN are at most 9 digits
    private const int MaxCommand = 32; // relp.txt: COMMAND is 1-32 letters

    private State _state = State.Txnr;
    private long _txnr;
    private int _digits;
    private readonly char[] _command = new char[MaxCommand];
    private int _commandLength;
    private long _dataLength;
    private byte[] _data = [];
    private int _filled;
    private long _remaining;
    private bool _truncated;

    public bool IsBroken => _state == State.Broken;

    public void Feed(ReadOnlySpan<byte> input, List<RelpFrame> frames)
    {
        var i = 0;
        while (i < input.Length && _state != State.Broken)
        {
            var b = input[i];
            switch (_state)
            {
                case State.Txnr:
                    if (b is >= (byte)'0' and <= (byte)'9' && _digits < MaxDigits)
                    {
                        _txnr = _txnr * 10 + (b - '0');
                        _digits++;
                    }
                    else if (b == (byte)' ' && _digits > 0)
                    {
                        _state = State.Command;
                        _commandLength = 0;
                    }
                    else if (b is (byte)'\n' or (byte)'\r' && _digits == 0)
                    {
                        // Stray line ends between frames are harmless; librelp's own senders do not emit them.
                    }
                    else
                    {
                        Fail(frames, _digits == 0 ? "frame does not start with a transaction number" : "invalid transaction number");
                    }
                    i++;
                    break;

                case State.Command:
                    if (b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' && _commandLength < MaxCommand)
                    {
                        _command[_commandLength++] = (char)b;
                    }
                    else if (b == (byte)' ' && _commandLength > 0)
                    {
                        _state = State.DataLength;
                        _digits = 0;
                        _dataLength = 0;
                    }
                    else
                    {
                        Fail(frames, "invalid command");
                    }
                    i++;
                    break;

                case State.DataLength:
                    if (b is >= (byte)'0' and <= (byte)'9' && _digits < MaxDigits)
                    {
                        _dataLength = _dataLength * 10 + (b - '0');
                        _digits++;
                        i++;
                    }
                    else if (_digits == 0)
                    {
                        Fail(frames, "invalid data length");
                        i++;
                    }
                    else if (_dataLength == 0)
                    {
                        // No data: the trailer follows DATALEN directly (no SP).
                        _data = [];
                        _truncated = false;
                        _state = State.Trailer;
                    }
                    else if (b == (byte)' ')
                    {
                        var keep = (int)Math.Min(_dataLength, maxDataBytes);
                        _data = new byte[keep];
                        _filled = 0;
                        _remaining = _dataLength;
                        _truncated = _dataLength > maxDataBytes;
                        _state = State.Data;
                        i++;
                    }
                    else
                    {
                        Fail(frames, "invalid data length");
                        i++;
                    }
                    break;

                case State.Data:
                    var take = (int)Math.Min(Math.Min(_data.Length - _filled, _remaining), input.Length - i);
                    input.Slice(i, take).CopyTo(_data.AsSpan(_filled));
                    _filled += take;
                    _remaining -= take;
                    i += take;
                    if (_remaining == 0)
                    {
                        _state = State.Trailer;
                    }
                    else if (_filled == _data.Length)
                    {
                        _state = State.Skip;
                    }
                    break;

                case State.Skip:
                    var skip = (int)Math.Min(_remaining, input.Length - i);
                    _remaining -= skip;
                    i += skip;
                    if (_remaining == 0)
                    {
                        _state = State.Trailer;
                    }
                    break;

                case State.Trailer:
                    if (b != (byte)'\n')
                    {
                        Fail(frames, "missing frame trailer (DATALEN does not match the data)");
                        i++;
                        break;
                    }
                    frames.Add(new RelpFrame(_txnr, new string(_command, 0, _commandLength), _data, _truncated));
                    Reset();
                    i++;
                    break;
            }
        }
    }

    private void Fail(List<RelpFrame> frames, string error)
    {
        // The transaction number is reported when it was read completely, so the answer can name the frame.
        var txnr = _state == State.Txnr ? 0 : _txnr;
        frames.Add(new RelpFrame(txnr, new string(_command, 0, _state == State.Txnr ? 0 : _commandLength), [], false, error));
        _state = State.Broken;
    }

    private void Reset()
    {
        _state = State.Txnr;
        _txnr = 0;
        _digits = 0;
        _commandLength = 0;
        _dataLength = 0;
        _data = [];
        _filled = 0;
        _remaining = 0;
        _truncated = false;
    }
}
