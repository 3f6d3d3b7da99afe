using System.Globalization;
using System.Text;
using Alicia.Contracts.Messages;
using NSec.Cryptography;

namespace Alicia.Engine.Security.Audit;

/// <summary>
/// Signed checkpoints of the audit log's head, and the append-only file that keeps them beside the database
/// (<c>audit.checkpoints</c>, owner-only). One checkpoint per line:
/// <c>alicia-audit-checkpoint/v1 records=N head=HEX at=UNIXMS signer=NAME sig=BASE64</c>. The signature (Ed25519)
/// covers the tag, records, head, time and signer, so a line cannot be edited, and the database cannot lose records
/// from its end or have one rewritten (chain recomputed) without disagreeing with a checkpoint.
/// </summary>
internal static class AuditCheckpoints
{
    public const string Tag = "alicia-audit-checkpoint/v1";
    public const int HashLength = 32;

    /// <summary>Where the checkpoints of the log at <paramref name="databasePath"/> are kept: <c>audit.db</c> → <c>audit.checkpoints</c>.</summary>
    public static string PathFor(string databasePath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(databasePath))!, Path.GetFileNameWithoutExtension(databasePath) + ".checkpoints");

    /// <summary>The bytes a checkpoint's signature covers.</summary>
    public static byte[] SignedBytes(long records, ReadOnlySpan<byte> head, long atUnixMs, string signer) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Tag}\n{records}\n{Convert.ToHexStringLower(head)}\n{atUnixMs}\n{signer}"));

    public static AuditCheckpoint Sign(SigningIdentity identity, long records, byte[] head, DateTimeOffset at)
    {
        long atUnixMs = at.ToUnixTimeMilliseconds();
        return new AuditCheckpoint
        {
            Records = records,
            HeadHash = head,
            AtUnixMs = atUnixMs,
            Signer = identity.Name,
            Signature = SignatureAlgorithm.Ed25519.Sign(identity.Key, SignedBytes(records, head, atUnixMs, identity.Name)),
        };
    }

    public static bool SignatureValid(AuditCheckpoint checkpoint, PublicKey key) =>
        checkpoint.HeadHash.Length == HashLength && checkpoint.Signature.Length == 64
        && SignatureAlgorithm.Ed25519.Verify(key, SignedBytes(checkpoint.Records, checkpoint.HeadHash, checkpoint.AtUnixMs, checkpoint.Signer), checkpoint.Signature);

    public static string Format(AuditCheckpoint c) => string.Create(CultureInfo.InvariantCulture,
        $"{Tag} records={c.Records} head={Convert.ToHexStringLower(c.HeadHash)} at={c.AtUnixMs} signer={c.Signer} sig={Convert.ToBase64String(c.Signature)}");

    /// <summary>Parses one line; null with <paramref name="problem"/> set when it is not a checkpoint (its signature is not checked here).</summary>
    public static AuditCheckpoint? Parse(string line, out string? problem)
    {
        problem = null;
        string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts[0] != Tag) { problem = "not a checkpoint"; return null; }
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in parts.AsSpan(1))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !fields.TryAdd(part[..eq], part[(eq + 1)..])) { problem = "a field is malformed or repeated"; return null; }
        }
        if (!fields.TryGetValue("sig", out string? sig) || sig.Length == 0) { problem = "it is unsigned"; return null; }
        try
        {
            var checkpoint = new AuditCheckpoint
            {
                Records = long.Parse(fields["records"], NumberStyles.None, CultureInfo.InvariantCulture),
                HeadHash = Convert.FromHexString(fields["head"]),
                AtUnixMs = long.Parse(fields["at"], NumberStyles.None, CultureInfo.InvariantCulture),
                Signer = fields["signer"],
                Signature = Convert.FromBase64String(sig),
            };
            if (checkpoint.HeadHash.Length != HashLength || checkpoint.Signature.Length != 64) { problem = "its head or signature has the wrong length"; return null; }
            return checkpoint;
        }
        catch (Exception e) when (e is FormatException or OverflowException or KeyNotFoundException)
        {
            problem = "a field is missing or malformed";
            return null;
        }
    }

    /// <summary>Appends one checkpoint line, creating the file owner-only (0600) as the database is.</summary>
    public static void Append(string path, AuditCheckpoint checkpoint)
    {
        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(path, options))
        {
            byte[] line = Encoding.UTF8.GetBytes(Format(checkpoint) + "\n");
            stream.Write(line);
            stream.Flush(flushToDisk: true);
        }
        AuditLog.RestrictToOwner(path);
    }
}
