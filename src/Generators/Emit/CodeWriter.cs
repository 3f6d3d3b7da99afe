using System.Text;

namespace Alicia.Generators.Emit
{
    /// <summary>An indenting text builder for generated C#.</summary>
    internal sealed class CodeWriter
    {
        private readonly StringBuilder _sb = new StringBuilder();
        private int _indent;
        private int _temp;

        public CodeWriter Line(string text = "")
        {
            if (text.Length > 0) _sb.Append(' ', _indent * 4).Append(text);
            _sb.Append('\n');
            return this;
        }

        public CodeWriter Open(string? header = null)
        {
            if (header is not null) Line(header);
            Line("{");
            _indent++;
            return this;
        }

        public CodeWriter Close(string suffix = "")
        {
            _indent--;
            Line("}" + suffix);
            return this;
        }

        /// <summary>A fresh local name, unique within the file.</summary>
        public string Temp(string prefix) => "__" + prefix + (_temp++).ToString(System.Globalization.CultureInfo.InvariantCulture);

        public void ResetTemps() => _temp = 0;

        public override string ToString() => _sb.ToString();
    }
}
