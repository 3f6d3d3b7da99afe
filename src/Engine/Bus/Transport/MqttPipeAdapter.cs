using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace Alicia.Engine.Bus.Transport;

/// <summary>
/// One broker connection as MQTTnet sees it, read and written through System.IO.Pipelines in place of
/// MQTTnet's own channel adapter (which reads each fixed header and body with separate socket reads into a
/// new array, through three async methods per packet). Packets that have already arrived are decoded
/// straight from the pipe's buffer without awaiting: MQTTnet's decoder copies out what it keeps.
/// A network connection also enforces <see cref="PacketLimits"/> from the fixed header, before a body is
/// buffered, and announces the limit as Maximum Packet Size in an MQTT 5 CONNACK (MQTTnet leaves it out).
/// </summary>
internal sealed class MqttPipeAdapter : IMqttChannelAdapter
{
    private static readonly Task<MqttPacket> Closed = Task.FromResult<MqttPacket>(null!);
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(1);
    private const int StreamBufferBytes = 8 * 1024;
    /// <summary>The most a burst leaves unflushed before it is sent anyway.</summary>
    private const int BatchBytes = 64 * 1024;

    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly IDisposable? _connection;
    private readonly PacketLimits? _limits;
    private readonly PacketTaps? _taps;
    private readonly Action<long, long>? _refused;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private volatile bool _authenticated;
    private string _clientId = "";
    private Func<long>? _queued;
    private long _bytesReceived;
    private long _bytesSent;
    private int _closed;

    private enum Take : byte { Packet, NeedMore, End }

    /// <param name="input">What the client sent.</param>
    /// <param name="output">Where packets to the client go.</param>
    /// <param name="formatter">Encodes and decodes packets (its protocol version is detected from CONNECT).</param>
    /// <param name="connection">Closes the underlying connection (the socket or TLS stream); null when completing the pipes is enough.</param>
    /// <param name="limits">Packet size limits; null for the in-process transport.</param>
    /// <param name="refused">Called with the announced size and the limit when a packet is refused.</param>
    public MqttPipeAdapter(PipeReader input, PipeWriter output, MqttPacketFormatterAdapter formatter, EndPoint remote, EndPoint? local,
        IDisposable? connection = null, PacketLimits? limits = null, PacketTaps? taps = null, X509Certificate2? clientCertificate = null,
        bool secure = false, Action<long, long>? refused = null)
    {
        _input = input;
        _output = output;
        PacketFormatterAdapter = formatter;
        RemoteEndPoint = remote;
        LocalEndPoint = local!;
        _connection = connection;
        _limits = limits;
        _taps = taps;
        ClientCertificate = clientCertificate!;
        IsSecureConnection = secure;
        _refused = refused;
    }

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);
    public long BytesSent => Interlocked.Read(ref _bytesSent);
    public X509Certificate2 ClientCertificate { get; }
    public EndPoint RemoteEndPoint { get; }
    public EndPoint LocalEndPoint { get; }
    public bool IsSecureConnection { get; }
    public MqttPacketFormatterAdapter PacketFormatterAdapter { get; }

    /// <summary>
    /// An adapter over a connection's stream (socket, TLS, or a client channel): 8 KiB reads, so packets that arrived
    /// together come out of one read. The adapter closes <paramref name="stream"/> when the connection ends.
    /// </summary>
    public static MqttPipeAdapter OverStream(Stream stream, MqttPacketFormatterAdapter formatter, EndPoint remote, EndPoint? local,
        PacketLimits? limits = null, PacketTaps? taps = null, X509Certificate2? clientCertificate = null, bool secure = false, Action<long, long>? refused = null) =>
        new(PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: StreamBufferBytes, minimumReadSize: StreamBufferBytes / 4, leaveOpen: true)),
            PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: StreamBufferBytes, leaveOpen: true)),
            formatter, remote, local, stream, limits, taps, clientCertificate, secure, refused);

    /// <summary>The limit that applies now (total packet size, fixed header included), or null when unlimited.</summary>
    public long? CurrentLimit => _limits is null ? null : _authenticated ? _limits.AfterConnect : _limits.BeforeConnect;

    public Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask; // the server's side: already connected

    public void ResetStatistics()
    {
        Interlocked.Exchange(ref _bytesReceived, 0);
        Interlocked.Exchange(ref _bytesSent, 0);
    }

    public Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested || Volatile.Read(ref _closed) != 0) return Closed;
        try
        {
            // Packets already buffered are handed out without an await (and without allocating a state machine).
            if (_input.TryRead(out ReadResult result))
            {
                switch (TakePacket(result, out MqttPacket? packet))
                {
                    case Take.Packet: return Task.FromResult(packet!);
                    case Take.End: return Closed;
                }
            }
        }
        catch (Exception e) { return IsEndOfConnection(e) ? Closed : Task.FromException<MqttPacket>(Wrap(e)); }
        return ReceiveWhenArrivedAsync(cancellationToken);
    }

    private async Task<MqttPacket> ReceiveWhenArrivedAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                ReadResult result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
                switch (TakePacket(result, out MqttPacket? packet))
                {
                    case Take.Packet: return packet!;
                    case Take.End: return null!;
                }
            }
        }
        catch (Exception e) when (IsEndOfConnection(e)) { return null!; }
        catch (Exception e) { throw Wrap(e); }
    }

    /// <summary>Decodes one packet from <paramref name="result"/> if it is whole, and advances the reader either way.</summary>
    private Take TakePacket(in ReadResult result, out MqttPacket? packet)
    {
        packet = null;
        ReadOnlySequence<byte> buffer = result.Buffer;
        if (result.IsCanceled)
        {
            _input.AdvanceTo(buffer.Start);
            return Take.End;
        }
        MqttFrame.Header header = MqttFrame.TryRead(buffer, out byte first, out int headerLength, out int bodyLength);
        if (header == MqttFrame.Header.Malformed)
        {
            _input.AdvanceTo(buffer.Start);
            throw new MqttProtocolViolationException("Remaining length is invalid (more than 4 bytes).");
        }
        if (header == MqttFrame.Header.Complete && CurrentLimit is long limit && headerLength + (long)bodyLength > limit)
        {
            // Refused from the header alone: the body is never buffered, and the connection ends.
            _input.AdvanceTo(buffer.Start);
            _refused?.Invoke(headerLength + (long)bodyLength, limit);
            Interlocked.Exchange(ref _closed, 1);
            return Take.End;
        }
        if (header == MqttFrame.Header.Incomplete || buffer.Length < headerLength + (long)bodyLength)
        {
            _input.AdvanceTo(buffer.Start, buffer.End); // nothing consumed; wake only when more has arrived
            return result.IsCompleted ? Take.End : Take.NeedMore;
        }

        int total = headerLength + bodyLength;
        ReadOnlySequence<byte> body = buffer.Slice(headerLength, bodyLength);
        byte[]? rented = null;
        try
        {
            ArraySegment<byte> segment;
            if (bodyLength == 0) segment = ArraySegment<byte>.Empty;
            else if (!body.IsSingleSegment || !MemoryMarshal.TryGetArray(body.First, out segment))
            {
                // A packet across two pipe segments (or memory not backed by an array): one pooled copy.
                rented = ArrayPool<byte>.Shared.Rent(bodyLength);
                body.CopyTo(rented);
                segment = new ArraySegment<byte>(rented, 0, bodyLength);
            }
            var received = new ReceivedMqttPacket(first, segment, total);
            if (PacketFormatterAdapter.ProtocolVersion == MqttProtocolVersion.Unknown) PacketFormatterAdapter.DetectProtocolVersion(received);
            packet = PacketFormatterAdapter.Decode(received) ?? throw new MqttProtocolViolationException("Received malformed packet.");
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
            _input.AdvanceTo(buffer.GetPosition(total));
        }
        Interlocked.Add(ref _bytesReceived, total);
        if (packet is MqttConnectPacket connect) _clientId = connect.ClientId ?? "";
        _taps?.Received?.Invoke(_clientId, packet);
        return Take.Packet;
    }

    public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        Task entered = _writeLock.WaitAsync(cancellationToken);
        return entered.IsCompletedSuccessfully ? SendHoldingLock(packet, cancellationToken) : SendWhenEnteredAsync(entered, packet, cancellationToken);
    }

    private async Task SendWhenEnteredAsync(Task entered, MqttPacket packet, CancellationToken cancellationToken)
    {
        await entered.ConfigureAwait(false);
        await SendHoldingLock(packet, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes and flushes one packet; releases the write lock when the flush is done.</summary>
    private Task SendHoldingLock(MqttPacket packet, CancellationToken cancellationToken)
    {
        ValueTask<FlushResult> flush;
        try
        {
            if (Volatile.Read(ref _closed) != 0) throw new MqttCommunicationException("The connection is closed.");
            Write(packet);
            if (packet is MqttPublishPacket && MoreQueued())
            {
                // The sender loop comes straight back with the next message: it joins this one in the buffer.
                _writeLock.Release();
                _taps?.Written?.Invoke(_clientId, packet);
                return Task.CompletedTask;
            }
            flush = _output.FlushAsync(cancellationToken);
        }
        catch (Exception e)
        {
            _writeLock.Release();
            return Task.FromException(Wrap(e));
        }
        if (!flush.IsCompleted) return FlushAsync(flush, packet);
        _writeLock.Release();
        try { Flushed(flush.Result, packet); }
        catch (Exception e) { return Task.FromException(Wrap(e)); }
        return Task.CompletedTask;
    }

    private async Task FlushAsync(ValueTask<FlushResult> flush, MqttPacket packet)
    {
        FlushResult result;
        try { result = await flush.ConfigureAwait(false); }
        catch (Exception e) { throw Wrap(e); }
        finally { _writeLock.Release(); }
        Flushed(result, packet);
    }

    /// <summary>
    /// Whether more messages wait in this subscriber's MQTTnet queue behind the one just written (its sender loop has
    /// already taken this one off): then the flush waits for the next, within <see cref="BatchBytes"/>. The last of a
    /// burst, and every packet that is not a PUBLISH, is flushed at once.
    /// </summary>
    private bool MoreQueued()
    {
        if (_taps?.QueuedBehind is not { } queuedBehind || !_output.CanGetUnflushedBytes || _output.UnflushedBytes >= BatchBytes) return false;
        _queued ??= queuedBehind(_clientId);
        return _queued?.Invoke() > 0;
    }

    private void Flushed(FlushResult result, MqttPacket packet)
    {
        if (result.IsCompleted || result.IsCanceled) throw new MqttCommunicationException("The connection is closed.");
        if (_taps?.Written is { } written) written(_clientId, packet);
    }

    private void Write(MqttPacket packet)
    {
        if (packet is MqttConnAckPacket ack)
        {
            if (_limits is not null && PacketFormatterAdapter.ProtocolVersion == MqttProtocolVersion.V500)
                ack.MaximumPacketSize = (uint)Math.Min(_limits.AfterConnect, uint.MaxValue);
            if (!string.IsNullOrEmpty(ack.AssignedClientIdentifier)) _clientId = ack.AssignedClientIdentifier;
        }
        _taps?.Sending?.Invoke(_clientId, packet);
        MqttPacketBuffer encoded = PacketFormatterAdapter.Encode(packet);
        try
        {
            _output.Write(encoded.Packet);
            foreach (ReadOnlyMemory<byte> part in encoded.Payload) _output.Write(part.Span);
            Interlocked.Add(ref _bytesSent, encoded.Length);
        }
        finally { PacketFormatterAdapter.Cleanup(); }
        // The larger limit applies from the first packet after a successful CONNACK.
        if (packet is MqttConnAckPacket { ReasonCode: MqttConnectReasonCode.Success }) _authenticated = true;
    }

    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        // Let a write in progress finish, then end our side: the peer reads end of stream.
        EndOutput(await _writeLock.WaitAsync(CloseWait, CancellationToken.None).ConfigureAwait(false));
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0) EndOutput(_writeLock.Wait(CloseWait));
        else CloseConnection();
        try { _input.Complete(); } // returns the pipe's buffers; refused while a read is still pending
        catch (InvalidOperationException) { }
    }

    /// <summary>Completes the output (holding the write lock when <paramref name="entered"/>; else cutting a stuck flush short) and closes the connection.</summary>
    private void EndOutput(bool entered)
    {
        try
        {
            if (!entered) _output.CancelPendingFlush();
            _output.Complete();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or SocketException) { }
        finally
        {
            if (entered) _writeLock.Release();
            CloseConnection();
        }
    }

    private void CloseConnection()
    {
        _input.CancelPendingRead();
        _connection?.Dispose();
    }

    private static bool IsEndOfConnection(Exception e) =>
        e is OperationCanceledException or ObjectDisposedException or InvalidOperationException
        || (e is IOException { InnerException: SocketException { SocketErrorCode: SocketError.OperationAborted } })
        || (e is SocketException { SocketErrorCode: SocketError.OperationAborted });

    private static Exception Wrap(Exception e) => e switch
    {
        MqttCommunicationException or MqttProtocolViolationException or OperationCanceledException => e,
        IOException { InnerException: SocketException socket } => new MqttCommunicationException(socket),
        _ => new MqttCommunicationException(e),
    };
}
