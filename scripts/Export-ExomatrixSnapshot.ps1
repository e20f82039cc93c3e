<#
.SYNOPSIS
    Writes an exomatrix tenant snapshot: the ten tables `exomatrix analyze` reads.

.DESCRIPTION
    Reads (never changes) Exchange Online and Microsoft Entra ID and writes one CSV
    file per table into -OutputDirectory, in exactly the format of exomatrix's
    DESIGN.md section 2: property names as column headers, every multi-valued
    property joined with ';', UTF-8.

    Nothing is sent anywhere but to Microsoft's own endpoints through the two
    official modules; the snapshot stays on this machine. Treat it as sensitive:
    it lists every mailbox and who can read it.

    Required modules (PowerShell 7 recommended, Windows PowerShell 5.1 works):
      Install-Module ExchangeOnlineManagement   # 3.2 or later
      Install-Module Microsoft.Graph.Authentication, Microsoft.Graph.Applications,
                     Microsoft.Graph.Identity.DirectoryManagement

    Permissions the signed-in account needs (all read-only):
      Exchange Online: the View-Only Organization Management role group (or any
        role giving Get-Recipient, Get-DistributionGroupMember,
        Get-UnifiedGroupLinks, Get-ApplicationAccessPolicy, Get-ManagementScope,
        Get-ManagementRoleAssignment, Get-ServicePrincipal, Get-AdministrativeUnit).
      Microsoft Graph (delegated scopes, consented once by an admin):
        Application.Read.All          service principals and app role assignments
        AdministrativeUnit.Read.All   administrative units and their members

.PARAMETER OutputDirectory
    Folder to write the snapshot into; created if missing. Existing table files
    are overwritten.

.PARAMETER SkipConnect
    Use the current Exchange Online and Microsoft Graph sessions instead of
    connecting (for example when already connected with certificate auth).

.EXAMPLE
    ./Export-ExomatrixSnapshot.ps1 -OutputDirectory ./snapshot-2026-11-22
    exomatrix analyze ./snapshot-2026-11-22 -o ./matrix-2026-11-22
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string] $OutputDirectory,

    [switch] $SkipConnect
)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

$GraphAppId = '00000003-0000-0000-c000-000000000000'
$ExchangeAppId = '00000002-0000-0ff1-ce00-000000000000'
$MailboxTypes = 'UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'SchedulingMailbox', 'LinkedMailbox', 'TeamMailbox'
$GroupTypes = 'MailUniversalSecurityGroup', 'MailUniversalDistributionGroup', 'MailNonUniversalGroup', 'GroupMailbox', 'RoomList'

if (-not $SkipConnect) {
    Connect-ExchangeOnline -ShowBanner:$false
    Connect-MgGraph -Scopes 'Application.Read.All', 'AdministrativeUnit.Read.All' -NoWelcome
}
New-Item -ItemType Directory -Force -Path $OutputDirectory | Out-Null

# A property value as one CSV cell: collections are joined with ';' so the export
# never degrades to a type name such as System.Object[] (exomatrix rejects those).
function ConvertTo-Cell($Value) {
    if ($null -eq $Value) { return '' }
    if ($Value -is [string]) { return $Value }
    if ($Value -is [System.Collections.IEnumerable]) {
        return (@($Value) | ForEach-Object { "$_" } | Where-Object { $_ -ne '' }) -join ';'
    }
    return "$Value"
}

# Every property of an object as a flat row of cells, in the object's order.
function ConvertTo-FlatRow($Object, [string[]] $Skip = @()) {
    $row = [ordered]@{}
    foreach ($p in $Object.PSObject.Properties) {
        if ($Skip -contains $p.Name) { continue }
        $row[$p.Name] = ConvertTo-Cell $p.Value
    }
    [pscustomobject]$row
}

function Get-OptionalProperty($Object, [string] $Name) {
    $p = $Object.PSObject.Properties[$Name]
    if ($null -eq $p) { return '' }
    ConvertTo-Cell $p.Value
}

function Export-Table([string] $Name, $Rows, [string[]] $Header) {
    $path = Join-Path $OutputDirectory "$Name.csv"
    $rows = @($Rows)
    if ($rows.Count -eq 0) {
        # Export-Csv writes nothing for no rows; exomatrix needs the header.
        ($Header | ForEach-Object { '"' + $_ + '"' }) -join ',' | Set-Content -Path $path -Encoding utf8
    } else {
        $rows | Export-Csv -Path $path -NoTypeInformation -Encoding utf8
    }
    Write-Host ("{0,-30} {1,9:N0} rows" -f "$Name.csv", $rows.Count)
}

$noise = 'RunspaceId', 'PSComputerName', 'PSShowComputerName', 'PSSourceJobInstanceId', 'ObjectState', 'OriginatingServer', 'IsValid', 'ExchangeVersion'

# mailboxes: every filterable recipient property, multi-valued ones joined.
Write-Host 'Reading mailboxes ...'
$upn = @{}
foreach ($m in Get-EXOMailbox -ResultSize Unlimited -Properties UserPrincipalName) {
    $upn[[string]$m.ExternalDirectoryObjectId] = $m.UserPrincipalName
}
$mailboxes = foreach ($r in Get-Recipient -RecipientTypeDetails $MailboxTypes -ResultSize Unlimited) {
    $row = ConvertTo-FlatRow $r -Skip $noise
    $row | Add-Member -NotePropertyName UserPrincipalName -NotePropertyValue ([string]$upn[[string]$r.ExternalDirectoryObjectId]) -Force
    $row
}
Export-Table 'mailboxes' $mailboxes @('ExternalDirectoryObjectId', 'PrimarySmtpAddress')

# groups and their direct members (nested groups appear as members; exomatrix expands them).
Write-Host 'Reading groups ...'
$groupObjects = @(Get-Recipient -RecipientTypeDetails $GroupTypes -ResultSize Unlimited)
$groups = foreach ($g in $groupObjects) {
    [pscustomobject][ordered]@{
        DistinguishedName         = $g.DistinguishedName
        ExternalDirectoryObjectId = [string]$g.ExternalDirectoryObjectId
        Guid                      = [string]$g.Guid
        PrimarySmtpAddress        = [string]$g.PrimarySmtpAddress
        EmailAddresses            = ConvertTo-Cell $g.EmailAddresses
        Alias                     = $g.Alias
        Name                      = $g.Name
        DisplayName               = $g.DisplayName
        RecipientTypeDetails      = [string]$g.RecipientTypeDetails
    }
}
Export-Table 'groups' $groups @('DistinguishedName')

$members = foreach ($g in $groupObjects) {
    $direct = if ([string]$g.RecipientTypeDetails -eq 'GroupMailbox') {
        Get-UnifiedGroupLinks -Identity ([string]$g.Guid) -LinkType Members -ResultSize Unlimited
    } else {
        Get-DistributionGroupMember -Identity ([string]$g.Guid) -ResultSize Unlimited
    }
    foreach ($m in $direct) {
        [pscustomobject][ordered]@{ Group = $g.DistinguishedName; Member = $m.DistinguishedName }
    }
}
Export-Table 'group_members' $members @('Group', 'Member')

# administrative units: Entra ids and names from Graph, the Exchange distinguished
# name (what the AdministrativeUnits filter property compares) from Exchange.
Write-Host 'Reading administrative units ...'
$auDn = @{}
foreach ($au in Get-AdministrativeUnit -ResultSize Unlimited) {
    # Exchange names an administrative unit after its Entra object id.
    $auDn[[string]$au.Name] = $au.DistinguishedName
    $id = Get-OptionalProperty $au 'ExternalDirectoryObjectId'
    if ($id) { $auDn[$id] = $au.DistinguishedName }
}
$units = @(Get-MgDirectoryAdministrativeUnit -All -Property Id, DisplayName)
Export-Table 'administrative_units' ($units | ForEach-Object {
        [pscustomobject][ordered]@{ Id = $_.Id; DisplayName = $_.DisplayName; DistinguishedName = [string]$auDn[$_.Id] }
    }) @('Id', 'DisplayName', 'DistinguishedName')
$auMembers = foreach ($u in $units) {
    foreach ($m in Get-MgDirectoryAdministrativeUnitMember -AdministrativeUnitId $u.Id -All) {
        # Entra object ids equal the recipients' ExternalDirectoryObjectId.
        [pscustomobject][ordered]@{ AdministrativeUnit = $u.Id; Member = $m.Id }
    }
}
Export-Table 'administrative_unit_members' $auMembers @('AdministrativeUnit', 'Member')

# service principals: Entra's, plus Exchange's pointers (same ObjectId and AppId).
Write-Host 'Reading service principals and grants ...'
$sps = @{}
foreach ($sp in Get-MgServicePrincipal -All -Property AppId, Id, DisplayName) {
    $sps[$sp.Id] = [pscustomobject][ordered]@{ AppId = $sp.AppId; ObjectId = $sp.Id; DisplayName = $sp.DisplayName }
}
$exoSpByKey = @{}
foreach ($sp in Get-ServicePrincipal -ResultSize Unlimited) {
    $objectId = [string]$sp.ObjectId
    if (-not $sps.ContainsKey($objectId)) {
        $sps[$objectId] = [pscustomobject][ordered]@{ AppId = [string]$sp.AppId; ObjectId = $objectId; DisplayName = $sp.DisplayName }
    }
    foreach ($key in @([string]$sp.Identity, [string]$sp.Name, [string]$sp.DisplayName, $objectId, [string]$sp.AppId)) {
        if ($key) { $exoSpByKey[$key] = $objectId }
    }
}
Export-Table 'service_principals' $sps.Values @('AppId', 'ObjectId', 'DisplayName')

# Entra application-permission grants on the two resources that reach mailboxes.
# Asking the resources is one call each instead of one per app.
$grants = foreach ($resourceAppId in $GraphAppId, $ExchangeAppId) {
    $resource = Get-MgServicePrincipal -Filter "appId eq '$resourceAppId'" -Property Id, DisplayName, AppRoles
    if ($null -eq $resource) { continue }
    $roleValue = @{}
    foreach ($role in $resource.AppRoles) { $roleValue[[string]$role.Id] = $role.Value }
    foreach ($a in Get-MgServicePrincipalAppRoleAssignedTo -ServicePrincipalId $resource.Id -All) {
        if ($a.PrincipalType -ne 'ServicePrincipal') { continue }
        $client = $sps[[string]$a.PrincipalId]
        [pscustomobject][ordered]@{
            AppId               = if ($client) { $client.AppId } else { '' }
            PrincipalId         = $a.PrincipalId
            ResourceAppId       = $resourceAppId
            ResourceDisplayName = $resource.DisplayName
            AppRoleId           = $a.AppRoleId
            Permission          = [string]$roleValue[[string]$a.AppRoleId]
        }
    }
}
Export-Table 'app_role_assignments' $grants @('AppId', 'PrincipalId', 'ResourceAppId', 'ResourceDisplayName', 'AppRoleId', 'Permission')

Write-Host 'Reading application access policies and RBAC for Applications ...'
$policies = foreach ($p in Get-ApplicationAccessPolicy) {
    [pscustomobject][ordered]@{
        Identity         = [string]$p.Identity
        AppId            = [string]$p.AppId
        AccessRight      = [string]$p.AccessRight
        ScopeIdentityRaw = [string]$p.ScopeIdentityRaw
        ScopeIdentity    = [string]$p.ScopeIdentity
        ScopeName        = [string]$p.ScopeName
        Description      = [string]$p.Description
        IsValid          = [string]$p.IsValid
    }
}
Export-Table 'application_access_policies' $policies @('Identity', 'AppId', 'AccessRight', 'ScopeIdentityRaw', 'ScopeIdentity', 'ScopeName', 'Description', 'IsValid')

$scopes = foreach ($s in Get-ManagementScope) {
    [pscustomobject][ordered]@{ Name = $s.Name; RecipientFilter = [string]$s.RecipientFilter; Exclusive = [string]$s.Exclusive }
}
Export-Table 'management_scopes' $scopes @('Name', 'RecipientFilter', 'Exclusive')

$assignments = foreach ($a in Get-ManagementRoleAssignment -RoleAssigneeType ServicePrincipal -ResultSize Unlimited) {
    $app = $exoSpByKey[[string]$a.RoleAssignee]
    if (-not $app) { $app = $exoSpByKey[[string]$a.RoleAssigneeName] }
    [pscustomobject][ordered]@{
        Name                             = $a.Name
        Role                             = [string]$a.Role
        App                              = [string]$app
        RoleAssignee                     = [string]$a.RoleAssignee
        RoleAssigneeName                 = [string]$a.RoleAssigneeName
        RoleAssigneeType                 = [string]$a.RoleAssigneeType
        CustomResourceScope              = Get-OptionalProperty $a 'CustomResourceScope'
        RecipientAdministrativeUnitScope = Get-OptionalProperty $a 'RecipientAdministrativeUnitScope'
        RecipientGroupScope              = Get-OptionalProperty $a 'RecipientGroupScope'
        Enabled                          = [string]$a.Enabled
    }
}
Export-Table 'management_role_assignments' $assignments @('Name', 'Role', 'App', 'RoleAssignee', 'RoleAssigneeName', 'RoleAssigneeType', 'CustomResourceScope', 'RecipientAdministrativeUnitScope', 'RecipientGroupScope', 'Enabled')

Write-Host "Snapshot written to $OutputDirectory. Next: exomatrix analyze '$OutputDirectory' -o <dataset>"
