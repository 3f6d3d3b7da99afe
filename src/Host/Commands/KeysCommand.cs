using Alicia.Engine.Security;
using Alicia.Host.Configuration;

namespace Alicia.Host.Commands;

internal static class KeysCommand
{
    public static int Execute(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var tokens = args.ToList();
        string? sub = tokens.Count > 0 && !tokens[0].StartsWith('-') ? tokens[0] : null;
        if (sub is null)
        {
            stderr.WriteLine("alicia keys: say 'new <name>' or 'list'");
            return Cli.Usage;
        }
        tokens.RemoveAt(0);
        string? name = null;
        if (sub == "new")
        {
            if (tokens.Count == 0 || tokens[0].StartsWith('-'))
            {
                stderr.WriteLine("alicia keys new: a key name is required, e.g. 'alicia keys new kitchen-speaker'");
                return Cli.Usage;
            }
            name = tokens[0];
            tokens.RemoveAt(0);
        }
        var options = ConfigurationLoader.Load(tokens);
        var keys = new KeyDirectory(options.KeyDirectory);

        switch (sub)
        {
            case "new":
                if (!IdentityNames.IsValid(name))
                {
                    stderr.WriteLine($"alicia keys new: '{name}' is not a valid name (1-{IdentityNames.MaxLength} of a-z A-Z 0-9 - _ .)");
                    return Cli.Usage;
                }
                if (keys.Exists(name!))
                {
                    stderr.WriteLine($"alicia keys new: a key named '{name}' already exists in {keys.Path}");
                    return Cli.Failed;
                }
                using (SigningIdentity identity = keys.Create(name!))
                {
                    stderr.WriteLine($"created {keys.PrivateKeyPath(name!)} (mode 0600) and {keys.PublicKeyPath(name!)}");
                    stdout.WriteLine(identity.PublicKeyBase64);
                }
                return Cli.Ok;
            case "list":
                foreach ((string keyName, NSec.Cryptography.PublicKey key) in keys.PublicKeys().OrderBy(k => k.Name, StringComparer.Ordinal))
                {
                    string kind = keys.Exists(keyName) ? "key pair" : "trusted public key";
                    stdout.WriteLine($"{keyName}\t{Convert.ToBase64String(key.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey))}\t{kind}");
                }
                return Cli.Ok;
            default:
                stderr.WriteLine($"alicia keys: unknown subcommand '{sub}' (new, list)");
                return Cli.Usage;
        }
    }
}
