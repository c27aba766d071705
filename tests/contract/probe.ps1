# The contract probe for Windows (twin of probe.py): the executor test vectors run it.
# Usage: powershell.exe -NoProfile -File probe.ps1 ACTION [ARGS...] [ACTION [ARGS...]]...
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$argv = @($args)
$i = 0
$code = 0
while ($i -lt $argv.Count) {
    $action = [string]$argv[$i]
    switch ($action) {
        'out' { [Console]::Out.Write([string]$argv[$i + 1] + "`n"); $i += 2 }
        'err' { [Console]::Error.Write([string]$argv[$i + 1] + "`n"); $i += 2 }
        'exit' { exit [int]$argv[$i + 1] }
        'sleep' { Start-Sleep -Milliseconds ([int]([double]$argv[$i + 1] * 1000)); $i += 2 }
        'stdin' { [Console]::Out.Write([Console]::In.ReadToEnd()); $i += 1 }
        'big' {
            $remaining = [int]$argv[$i + 1]
            $line = ('x' * 99) + "`n"
            $writer = [Console]::Out
            while ($remaining -ge 100) { $writer.Write($line); $remaining -= 100 }
            $writer.Write('x' * $remaining)
            $i += 2
        }
        'cat' { [Console]::Out.Write([System.IO.File]::ReadAllText([string]$argv[$i + 1])); $i += 2 }
        'mark' { [System.IO.File]::WriteAllText([string]$argv[$i + 1], "marked`n"); $i += 2 }
        'child-mark' {
            $seconds = [string]$argv[$i + 1]
            $marker = [string]$argv[$i + 2]
            $command = "Start-Sleep -Seconds $seconds; Set-Content -LiteralPath '$marker' -Value child"
            $child = Start-Process -FilePath "$env:SystemRoot\System32\WindowsPowerShell\v1.0\powershell.exe" -ArgumentList @('-NoProfile', '-Command', $command) -PassThru -WindowStyle Hidden
            $child.WaitForExit()
            $i += 3
        }
        'count' {
            $path = [string]$argv[$i + 1]
            [System.IO.File]::AppendAllText($path, "x`n")
            $lines = @([System.IO.File]::ReadAllLines($path)).Count
            [Console]::Out.Write("count=$lines`n")
            $i += 2
        }
        default { [Console]::Error.Write("probe: unknown action $action`n"); exit 99 }
    }
}
exit $code
