using System.Globalization;
using System.Security.Cryptography;

namespace Alicia.Engine.Security.Identity;

/// <summary>
/// Password hashes for services that authenticate with username/password on loopback: PBKDF2-SHA256 with a
/// random 16-byte salt, stored as <c>pbkdf2-sha256$ITERATIONS$SALT$HASH</c> (base64). Verification is
/// constant-time, and an unknown user costs the same as a wrong password.
/// </summary>
internal static class PasswordHasher
{
    public const int DefaultIterations = 100_000;
    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    private const string Scheme = "pbkdf2-sha256";

    public static string Hash(ReadOnlySpan<byte> password, int iterations = DefaultIterations)
    {
        byte[] salt = RandomNumberGenerator.GetBytes(SaltBytes);
        byte[] hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    public static string Hash(string password, int iterations = DefaultIterations) => Hash(System.Text.Encoding.UTF8.GetBytes(password), iterations);

    public static bool Verify(ReadOnlySpan<byte> password, string? encoded)
    {
        if (encoded is null || !TryParse(encoded, out int iterations, out byte[] salt, out byte[] expected))
        {
            // Same work as a real check, so a missing user or password is not told apart by timing.
            Rfc2898DeriveBytes.Pbkdf2(password, DummySalt, DefaultIterations, HashAlgorithmName.SHA256, HashBytes);
            return false;
        }
        byte[] actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static readonly byte[] DummySalt = RandomNumberGenerator.GetBytes(SaltBytes);

    private static bool TryParse(string encoded, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = hash = [];
        string[] parts = encoded.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme) return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < 1_000 || iterations > 10_000_000) return false;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            hash = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }
        return salt.Length >= 8 && hash.Length >= 16;
    }
}
