using System.Text;
using Microsoft.CodeAnalysis.CSharp;

namespace Alicia.Generators.Parsing
{
    internal static class Naming
    {
        /// <summary>PascalCase to snake_case: DeviceId -> device_id, IPAddress -> ip_address, Sha256Hash -> sha256_hash.</summary>
        public static string ToSnakeCase(string name)
        {
            var sb = new StringBuilder(name.Length + 8);
            for (int i = 0; i < name.Length; i++)
            {
                char c = name[i];
                if (char.IsUpper(c))
                {
                    if (i > 0 && name[i - 1] != '_')
                    {
                        char prev = name[i - 1];
                        bool nextIsLower = i + 1 < name.Length && char.IsLower(name[i + 1]);
                        if (char.IsLower(prev) || char.IsDigit(prev) || (char.IsUpper(prev) && nextIsLower)) sb.Append('_');
                    }
                    sb.Append(char.ToLowerInvariant(c));
                }
                else
                {
                    sb.Append(c);
                }
            }
            return sb.ToString();
        }

        /// <summary>snake_case to camelCase: device_id -> deviceId.</summary>
        public static string ToCamelCase(string snake)
        {
            var sb = new StringBuilder(snake.Length);
            bool upper = false;
            foreach (char c in snake)
            {
                if (c == '_') { upper = sb.Length > 0; continue; }
                sb.Append(upper ? char.ToUpperInvariant(c) : c);
                upper = false;
            }
            return sb.Length == 0 ? "value" : sb.ToString();
        }

        /// <summary>Prefixes '@' to a name that is a C# keyword.</summary>
        public static string EscapeIdentifier(string name) =>
            SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

        /// <summary>Makes a valid dotted namespace out of an assembly name.</summary>
        public static string ToNamespace(string? assemblyName)
        {
            if (string.IsNullOrEmpty(assemblyName)) return "AliciaGenerated";
            var sb = new StringBuilder();
            foreach (string part in assemblyName!.Split('.'))
            {
                if (sb.Length > 0) sb.Append('.');
                sb.Append(ToIdentifier(part));
            }
            return sb.ToString();
        }

        /// <summary>A file-name-safe form of a metadata name.</summary>
        public static string ToHintName(string metadataName)
        {
            var sb = new StringBuilder(metadataName.Length);
            foreach (char c in metadataName) sb.Append(char.IsLetterOrDigit(c) || c == '.' || c == '_' ? c : '_');
            return sb.ToString();
        }

        /// <summary>Replaces every character not valid in an identifier with '_'.</summary>
        public static string ToIdentifier(string text)
        {
            var sb = new StringBuilder(text.Length + 1);
            foreach (char c in text) sb.Append(char.IsLetterOrDigit(c) || c == '_' ? c : '_');
            if (sb.Length == 0 || char.IsDigit(sb[0])) sb.Insert(0, '_');
            string id = sb.ToString();
            return SyntaxFacts.GetKeywordKind(id) != SyntaxKind.None ? "@" + id : id;
        }
    }
}
