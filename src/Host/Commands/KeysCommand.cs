using System.CommandLine;
using Alicia.Engine.Security;

namespace Alicia.Host.Commands;

/// <summary><c>alicia keys new NAME | list</c>: the Ed25519 key directory.</summary>
internal static class KeysCommand
{
    public static Command Create(CliContext cli)
    {
        var name = CommonOptions.IdentityArgument("name", "The key's name, e.g. kitchen-speaker", "key name");
        var create = cli.ReadsConfiguration(new Command("new", "Create an Ed25519 signing key pair (NAME.key, mode 0600, and NAME.pub); prints the public key") { name });
        create.SetAction(result =>
        {
            var keys = new KeyDirectory(cli.Load(result).KeyDirectory);
            string keyName = result.GetValue(name)!;
            if (keys.Exists(keyName))
            {
                cli.Err.WriteLine($"alicia keys new: a key named '{keyName}' already exists in {keys.Path}");
                return Cli.Failed;
            }
            using SigningIdentity identity = keys.Create(keyName);
            cli.Err.WriteLine($"created {keys.PrivateKeyPath(keyName)} (mode 0600) and {keys.PublicKeyPath(keyName)}");
            cli.Out.WriteLine(identity.PublicKeyBase64);
            return Cli.Ok;
        });

        var list = cli.ReadsConfiguration(new Command("list", "List the key directory: key pairs and trusted public keys"));
        list.SetAction(result =>
        {
            var keys = new KeyDirectory(cli.Load(result).KeyDirectory);
            foreach ((string keyName, NSec.Cryptography.PublicKey key) in keys.PublicKeys().OrderBy(k => k.Name, StringComparer.Ordinal))
            {
                string kind = keys.Exists(keyName) ? "key pair" : "trusted public key";
                cli.Out.WriteLine($"{keyName}\t{Convert.ToBase64String(key.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey))}\t{kind}");
            }
            return Cli.Ok;
        });

        return new Command("keys", "Ed25519 signing keys in the key directory (the engine trusts every public key in it)") { create, list };
    }
}
