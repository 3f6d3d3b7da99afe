using Microsoft.CodeAnalysis.CSharp;

namespace Alicia.Generators.Emit
{
    internal static class Literal
    {
        /// <summary>A C# string literal: <c>"text"</c>, escaped.</summary>
        public static string String(string text) => SymbolDisplay.FormatLiteral(text, quote: true);

        /// <summary>A UTF-8 literal: <c>"text"u8</c>.</summary>
        public static string Utf8(string text) => String(text) + "u8";

        /// <summary>The text to splice inside an interpolated or regular string literal (escaped, no quotes, braces doubled).</summary>
        public static string Inner(string text)
        {
            string quoted = SymbolDisplay.FormatLiteral(text, quote: true);
            return quoted.Substring(1, quoted.Length - 2).Replace("{", "{{").Replace("}", "}}");
        }

        public static int Utf8Length(string text) => System.Text.Encoding.UTF8.GetByteCount(text);
    }
}
