namespace Mutt.AppHost.Run;

/// <summary>Prefixed log streaming: every line goes to <c>logs/&lt;resource&gt;.log</c> and, optionally, the console as <c>[resource] line</c>.</summary>
public sealed class LogSink(string logDir, bool toConsole) : IDisposable
{
    private readonly Dictionary<string, StreamWriter> _files = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    public void Write(string resource, string prefix, string line)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            if (!_files.TryGetValue(resource, out var writer))
            {
                Directory.CreateDirectory(logDir);
                writer = new StreamWriter(new FileStream(Path.Combine(logDir, resource + ".log"), FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
                _files[resource] = writer;
            }
            var text = $"[{prefix}] {line}";
            writer.WriteLine($"{DateTime.UtcNow:O} {text}");
            if (toConsole)
            {
                Console.Out.WriteLine(text);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (var writer in _files.Values)
            {
                writer.Dispose();
            }
            _files.Clear();
        }
    }
}
