#!powershell
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# The Windows side of quiesce.domino.host_exec (documentation: host_exec.py).  Ansible picks this file on every
# Windows connection (WinRM, PSRP, SSH with the powershell or cmd shell), so the module has its own failed and
# msg, native check mode and Ansible's own async for PowerShell modules.  The plan runner itself is the module
# util QuiesceExecutor.psm1.

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.quiesce.domino.plugins.module_utils.QuiesceExecutor

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$spec = @{
    options = @{
        plan = @{ type = 'dict'; required = $true }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

# Ansible.Basic gives the plan as dictionaries and lists; the runner reads the JSON shape the controller sent.
$planJson = ConvertTo-Json -InputObject $module.Params.plan -Depth 32 -Compress
# the plan's context is returned unchanged, for the controller (plan.build_plan), also when the runner fails
# (an async job's report still knows which copy it was); it is never read here
if ($module.Params.plan.ContainsKey('context')) {
    $module.Result['context'] = $module.Params.plan['context']
}
try {
    $outcome = Invoke-QuiesceModule -PlanJson $planJson -CheckMode $module.CheckMode
}
catch {
    # an invalid plan, or the runner itself failed: no plan outcome, a msg that says why
    $module.FailJson("the Windows executor could not run the plan: $($_.Exception.Message)", $_)
}
foreach ($key in @($outcome.Keys)) {
    $module.Result[[string]$key] = $outcome[$key]
}
if ($null -ne $outcome['failed_step']) {
    $module.FailJson((Get-PlanFailureMessage -Failed $outcome['failed_step']))
}
$module.ExitJson()
