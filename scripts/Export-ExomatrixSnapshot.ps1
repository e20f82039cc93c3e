<#
.SYNOPSIS
    Writes an exomatrix tenant snapshot: the tables `exomatrix analyze` reads.

.DESCRIPTION
    Reads (never changes) Exchange Online and Microsoft Entra ID and writes one CSV
    file per table into -OutputDirectory, in the format of exomatrix's DESIGN.md
    section 2: property names as column headers, multi-valued properties joined
    with ';', dates as ISO 8601 UTC, UTF-8, every field quoted.

    The run has two parts, each in a process of its own, because the Exchange Online
    and Microsoft Graph modules cannot share one process with current versions
    (msgraph-sdk-powershell issue #3394 "Connect-MgGraph fails after
    Connect-ExchangeOnline", open, confirmed with Graph.Authentication 2.40.0 and
    ExchangeOnlineManagement 3.10.1; the reverse order fails too, DLLPickle #156):
      -Part Exchange  mailboxes, groups, administrative_units,
                      application_access_policies, management_scopes,
                      management_role_assignments
      -Part Graph     service_principals, app_role_assignments, group_members,
                      administrative_unit_members, tenant.json
    -Part All (the default) runs the Exchange part and then the Graph part, each as a
    child process of the same PowerShell (powershell.exe or pwsh). The Graph part
    reads groups.csv and administrative_units.csv that the Exchange part wrote.

    Every table is streamed to disk: no cmdlet result is held whole in memory. The
    one exception is a map from mailbox id to UserPrincipalName (about 250 bytes per
    mailbox) built only when Get-EXORecipient does not return UserPrincipalName.
    Group and administrative unit members are fetched as object ids only, twenty
    groups per Microsoft Graph JSON batch request.

    A table is written to <table>.csv.partial and renamed to <table>.csv when it is
    complete. Running the script again skips the tables already written (pass
    -Restart to write them all again); group_members also resumes within the table,
    after the last batch of groups it finished. Each call is retried with back-off
    when it fails (throttling, a timeout, a transient service error); a group
    deleted during the run is skipped with a warning.

    Nothing is sent anywhere but to Microsoft's endpoints through the two official
    modules; the snapshot stays on this machine. Treat it as sensitive: it lists
    every mailbox and which applications can read it.

    This script is written against the documentation of ExchangeOnlineManagement 3.x
    and Microsoft.Graph 2.x (sources below). PowerShell could not be run where
    exomatrix is developed, so it has not been run against a live tenant by the
    project: run -CheckOnly first.

    REQUIREMENTS
    Modules (PowerShell 7 recommended; Windows PowerShell 5.1 works):
        Install-Module ExchangeOnlineManagement            # 3.2 or later
        Install-Module Microsoft.Graph.Authentication, Microsoft.Graph.Applications,
                       Microsoft.Graph.Groups, Microsoft.Graph.Identity.DirectoryManagement

    Exchange part, signed-in account (read-only): the View-Only Organization
    Management role group, or the Entra role Global Reader (which Exchange maps to
    it). Cmdlets used: Get-EXORecipient, Get-EXOMailbox, Get-Group,
    Get-AdministrativeUnit, Get-ApplicationAccessPolicy, Get-ManagementScope,
    Get-ManagementRoleAssignment, Get-ServicePrincipal.

    Graph part, delegated scopes (consented once by an administrator):
        Application.Read.All          service principals and their app role assignments
        GroupMember.Read.All          direct members of groups (ids only)
        AdministrativeUnit.Read.All   members of administrative units
        Organization.Read.All         tenant id and initial domain for tenant.json
    With -AppId and -CertificateThumbprint (app-only), the app needs the same names as
    application permissions, plus Exchange.ManageAsApp and an Exchange role for the
    Exchange part.

    Before a long run, check every permission in a minute:
        ./Export-ExomatrixSnapshot.ps1 -OutputDirectory ./snap -CheckOnly
    It connects, calls each cmdlet once for one object, prints PASS or FAIL for each,
    and writes nothing.

    SOURCES (each cmdlet, parameter and property used was checked against these)
    - Get-EXORecipient, Get-EXOMailbox: -ResultSize Unlimited, -RecipientTypeDetails
      (LinkedRoomMailbox is a valid value), -PropertySets Minimum/Custom, -Properties;
      cmdlet-property-sets (Get-EXOMailbox Minimum holds UserPrincipalName; Custom holds
      CustomAttribute1-15 and ExtensionCustomAttribute1-5); exchange-online-powershell-v2
      (the Properties and PropertySets parameters work together).
    - Get-Group: -ResultSize Unlimited; returns mail-enabled security groups,
      distribution groups, role groups and room lists.
    - Get-AdministrativeUnit, Get-ServicePrincipal, Get-ManagementRoleAssignment,
      Get-ManagementScope, Get-ApplicationAccessPolicy: no -ResultSize parameter.
      Get-AdministrativeUnit's ExternalDirectoryObjectId equals the Graph object id.
    - Get-ManagementRoleAssignment: -RoleAssigneeType documents only User,
      SecurityGroup, RoleAssignmentPolicy, ForeignSecurityPrincipal, RoleGroup,
      LinkedRoleGroup and Computer, so service principals are selected client-side;
      the scope of an assignment is reported in RecipientWriteScope with
      CustomResourceScope / CustomRecipientWriteScope (Microsoft365DSC
      MSFT_EXOManagementRoleAssignment; EXORBACforAppManagement TODO.md).
    - Get-ApplicationAccessPolicy output: Identity, AppId, AccessRight, ScopeName,
      ScopeIdentity, ScopeIdentityRaw (SID;object id), Description, IsValid.
    - Get-MgServicePrincipal, Get-MgServicePrincipalAppRoleAssignedTo,
      Get-MgDirectoryAdministrativeUnitMember, Get-MgGroupMember (direct members,
      not transitive): -All, -PageSize, -Property; Invoke-MgGraphRequest for
      JSON batching (POST /v1.0/$batch, at most 20 requests).
    - An empty pipeline reaching Export-Csv writes no header, and $null piped to it
      fails ("Cannot bind argument to parameter 'InputObject' because it is null"),
      so empty tables are written with their header by this script.

.PARAMETER OutputDirectory
    Folder to write the snapshot into; created if missing.

.PARAMETER Part
    All (default): the Exchange part, then the Graph part, each in a child process.
    Exchange or Graph: that part only, in this process.

.PARAMETER SkipConnect
    Use the session this process already has instead of connecting. Only with
    -Part Exchange or -Part Graph: the two parts need separate processes, so a
    session of this process cannot serve both.

.PARAMETER Restart
    Write every table again, even those a previous run completed.

.PARAMETER CheckOnly
    Connect and call each cmdlet once; print PASS or FAIL per cmdlet; write nothing.

.PARAMETER Organization
    The tenant's initial domain (contoso.onmicrosoft.com); needed for app-only
    sign-in, optional otherwise.

.PARAMETER AppId
    Sign in as this application with -CertificateThumbprint (unattended runs).

.PARAMETER CertificateThumbprint
    Certificate of the -AppId application in the current user's store.

.PARAMETER ExtraMailboxProperties
    Further recipient properties to export as mailbox columns (for example
    CustomAttribute filters are covered already; add Manager or PostalCode).

.EXAMPLE
    ./Export-ExomatrixSnapshot.ps1 -OutputDirectory ./snapshot-2026-11-22 -CheckOnly
    ./Export-ExomatrixSnapshot.ps1 -OutputDirectory ./snapshot-2026-11-22
    exomatrix analyze ./snapshot-2026-11-22 -o ./matrix-2026-11-22

.EXAMPLE
    # Unattended, app-only:
    ./Export-ExomatrixSnapshot.ps1 -OutputDirectory ./snap -Organization contoso.onmicrosoft.com `
        -AppId 00000000-0000-0000-0000-000000000000 -CertificateThumbprint 0123456789ABCDEF

.EXAMPLE
    # Already connected to Exchange Online in this window (for example with a
    # managed identity): export its part here, then the Graph part in another window.
    ./Export-ExomatrixSnapshot.ps1 -OutputDirectory ./snap -Part Exchange -SkipConnect
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string] $OutputDirectory,

    [ValidateSet('All', 'Exchange', 'Graph')]
    [string] $Part = 'All',

    [switch] $SkipConnect,

    [switch] $Restart,

    [switch] $CheckOnly,

    [string] $Organization = '',

    [string] $AppId = '',

    [string] $CertificateThumbprint = '',

    [string[]] $ExtraMailboxProperties = @()
)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

# A child process receives -ExtraMailboxProperties as one comma-joined string.
$ExtraMailboxProperties = @($ExtraMailboxProperties | ForEach-Object { $_ -split ',' } | Where-Object { $_ -ne '' })

$GraphAppId = '00000003-0000-0000-c000-000000000000'
$ExchangeAppId = '00000002-0000-0ff1-ce00-000000000000'

# Recipients that are mailboxes an app can be granted access to.
$MailboxTypes = @(
    'UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'SchedulingMailbox',
    'LinkedMailbox', 'LinkedRoomMailbox', 'TeamMailbox'
)
# Mail-enabled groups; Get-Group adds the groups Get-EXORecipient does not return.
$GroupTypes = @(
    'MailUniversalSecurityGroup', 'MailUniversalDistributionGroup', 'MailNonUniversalGroup',
    'GroupMailbox', 'RoomList'
)
# Filterable recipient properties exported as mailbox columns, besides the
# Minimum and Custom property sets.
$MailboxProperties = @(
    'Alias', 'DisplayName', 'DistinguishedName', 'EmailAddresses', 'Guid', 'PrimarySmtpAddress',
    'Department', 'Company', 'Office', 'City', 'StateOrProvince', 'CountryOrRegion', 'Title',
    'WhenCreated'
) + $ExtraMailboxProperties
$CustomAttributes = @(1..15 | ForEach-Object { "CustomAttribute$_" }) +
    @(1..5 | ForEach-Object { "ExtensionCustomAttribute$_" })

# ---------------------------------------------------------------------------
# Cells and rows
# ---------------------------------------------------------------------------

<#
    A property value as one CSV cell. Collections are joined with ';' (exomatrix
    refuses cells such as System.Object[]), dates become ISO 8601 UTC so that no
    culture changes them, $null becomes '' (Export-Csv cannot take null hashtable
    values, PowerShell/PowerShell#25836).
      ConvertTo-Cell @('SMTP:a@contoso.com', 'smtp:a@contoso.onmicrosoft.com')
        -> 'SMTP:a@contoso.com;smtp:a@contoso.onmicrosoft.com'
      ConvertTo-Cell ([datetime]'2021-03-14T08:15:00Z') -> '2021-03-14T08:15:00Z'
#>
function ConvertTo-Cell($Value) {
    if ($null -eq $Value) { return '' }
    if ($Value -is [string]) { return $Value }
    if ($Value -is [datetime]) { return $Value.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [Globalization.CultureInfo]::InvariantCulture) }
    if ($Value -is [System.Collections.IEnumerable]) {
        $parts = foreach ($item in $Value) {
            $text = ConvertTo-Cell $item
            if ($text -ne '') { $text }
        }
        return (@($parts) -join ';')
    }
    return [string]$Value
}

# The value of a property that may be absent (Set-StrictMode forbids reading a
# missing property), as a cell.
function Get-Cell($Object, [string] $Name) {
    $property = $Object.PSObject.Properties[$Name]
    if ($null -eq $property) { return '' }
    ConvertTo-Cell $property.Value
}

# A row with exactly the columns of $Header, in that order, from an object.
function ConvertTo-Row($Object, [string[]] $Header) {
    $row = [ordered]@{}
    foreach ($name in $Header) { $row[$name] = Get-Cell $Object $name }
    [pscustomobject]$row
}

<#
    A mailboxes.csv row. Example (the middle columns abridged):
      "ExternalDirectoryObjectId","PrimarySmtpAddress","UserPrincipalName","Alias","Name",...,"RecipientTypeDetails","EmailAddresses",...,"CustomAttribute1",...
      "a1b2c3d4-0000-4000-8000-00000000000b","alex@fabrikam.com","alex@fabrikam.com","alex","alex",...,"UserMailbox","SMTP:alex@fabrikam.com;smtp:alex@fabrikam.onmicrosoft.com",...,"012332",...
#>
function ConvertTo-MailboxRow($Recipient, [string[]] $Header, [hashtable] $UpnById) {
    $row = ConvertTo-Row $Recipient $Header
    if ($null -ne $UpnById) {
        $id = [string]$row.ExternalDirectoryObjectId
        if ($UpnById.ContainsKey($id)) { $row.UserPrincipalName = $UpnById[$id] }
    }
    $row
}

<#
    A groups.csv row:
      "DistinguishedName","ExternalDirectoryObjectId","Guid","PrimarySmtpAddress","EmailAddresses","Alias","Name","DisplayName","RecipientTypeDetails"
      "CN=Mail-Readers,OU=fabrikam.onmicrosoft.com,...","c0c0c0c0-0000-4000-8000-000000000001","d0d0d0d0-0000-4000-8000-000000000001","mail-readers@fabrikam.com","SMTP:mail-readers@fabrikam.com","mail-readers","Mail-Readers","Mail Readers","MailUniversalSecurityGroup"
    Get-Group names the address WindowsEmailAddress; it stands in for
    PrimarySmtpAddress when Get-EXORecipient did not return the group.
#>
$GroupHeader = @('DistinguishedName', 'ExternalDirectoryObjectId', 'Guid', 'PrimarySmtpAddress', 'EmailAddresses', 'Alias', 'Name', 'DisplayName', 'RecipientTypeDetails')
function ConvertTo-GroupRow($Group) {
    $row = ConvertTo-Row $Group $GroupHeader
    if ($row.PrimarySmtpAddress -eq '') { $row.PrimarySmtpAddress = Get-Cell $Group 'WindowsEmailAddress' }
    $row
}

<#
    An administrative_units.csv row (Id is the Entra object id):
      "Id","DisplayName","DistinguishedName"
      "e0e0e0e0-0000-4000-8000-000000000001","Canada","CN=e0e0e0e0-0000-4000-8000-000000000001,CN=AdministrativeUnits,OU=fabrikam.onmicrosoft.com,..."
#>
function ConvertTo-AdministrativeUnitRow($Unit) {
    [pscustomobject][ordered]@{
        Id                = Get-Cell $Unit 'ExternalDirectoryObjectId'
        DisplayName       = Get-Cell $Unit 'DisplayName'
        DistinguishedName = Get-Cell $Unit 'DistinguishedName'
    }
}

<#
    An application_access_policies.csv row:
      "Identity","AppId","AccessRight","ScopeIdentityRaw","ScopeIdentity","ScopeName","Description","IsValid"
      "fabrikam.onmicrosoft.com\f1f1...:S-1-5-21-...;d0d0d0d0-0000-4000-8000-000000000001","f1f1f1f1-0000-4000-8000-000000000001","RestrictAccess","S-1-5-21-...;d0d0d0d0-0000-4000-8000-000000000001","Mail-Readers20210509121159","Mail Readers","Restrict this app to members of Mail Readers","True"
#>
$PolicyHeader = @('Identity', 'AppId', 'AccessRight', 'ScopeIdentityRaw', 'ScopeIdentity', 'ScopeName', 'Description', 'IsValid')

<#
    A management_scopes.csv row (recipient scopes only):
      "Name","RecipientFilter","Exclusive","ScopeRestrictionType"
      "Canadian users","CustomAttribute1 -eq '012332'","False","RecipientScope"
#>
$ScopeHeader = @('Name', 'RecipientFilter', 'Exclusive', 'ScopeRestrictionType')

<#
    A management_role_assignments.csv row, as Get-ManagementRoleAssignment reports
    it (the scope kind in RecipientWriteScope, the object in CustomResourceScope or
    CustomRecipientWriteScope). App is the AppId of the Exchange service principal
    the assignee names, which Entra knows under the same AppId:
      "Name","Role","App","RoleAssignee","RoleAssigneeName","RoleAssigneeType","RecipientWriteScope","CustomResourceScope","CustomRecipientWriteScope","Enabled"
      "Application Mail.Send-e5f6","Application Mail.Send","f1f1f1f1-0000-4000-8000-000000000001","f2f2...","f2f2...","ServicePrincipal","Group","Finance_c0c0c0c0-0000-4000-8000-000000000001","","True"
#>
$AssignmentHeader = @('Name', 'Role', 'App', 'RoleAssignee', 'RoleAssigneeName', 'RoleAssigneeType', 'RecipientWriteScope', 'CustomResourceScope', 'CustomRecipientWriteScope', 'Enabled')
function ConvertTo-AssignmentRow($Assignment, [hashtable] $AppIdByKey) {
    $row = ConvertTo-Row $Assignment $AssignmentHeader
    foreach ($key in @($row.RoleAssignee, $row.RoleAssigneeName)) {
        if ($key -ne '' -and $AppIdByKey.ContainsKey($key)) { $row.App = $AppIdByKey[$key]; break }
    }
    if ($row.App -eq '') { $row.App = $row.RoleAssignee }
    $row
}

<#
    A service_principals.csv row, from Entra only (an Exchange pointer whose object
    id differs from Entra's must not add a second row for its AppId):
      "AppId","ObjectId","DisplayName"
      "f1f1f1f1-0000-4000-8000-000000000001","f2f2f2f2-0000-4000-8000-000000000001","Fabrikam Archiver"
#>
function ConvertTo-ServicePrincipalRow($ServicePrincipal) {
    [pscustomobject][ordered]@{
        AppId       = [string]$ServicePrincipal.AppId
        ObjectId    = [string]$ServicePrincipal.Id
        DisplayName = [string]$ServicePrincipal.DisplayName
    }
}

<#
    An app_role_assignments.csv row:
      "AppId","PrincipalId","ResourceAppId","ResourceDisplayName","AppRoleId","Permission"
      "f1f1f1f1-0000-4000-8000-000000000001","f2f2f2f2-0000-4000-8000-000000000001","00000003-0000-0000-c000-000000000000","Microsoft Graph","810c84a8-4a9e-49e6-bf7d-12d183f40d01","Mail.Read"
#>
function ConvertTo-GrantRow($Assignment, $Resource, [hashtable] $AppIdById, [hashtable] $RoleValueById) {
    $principal = [string]$Assignment.PrincipalId
    $roleId = [string]$Assignment.AppRoleId
    [pscustomobject][ordered]@{
        AppId               = $(if ($AppIdById.ContainsKey($principal)) { $AppIdById[$principal] } else { '' })
        PrincipalId         = $principal
        ResourceAppId       = [string]$Resource.AppId
        ResourceDisplayName = [string]$Resource.DisplayName
        AppRoleId           = $roleId
        Permission          = $(if ($RoleValueById.ContainsKey($roleId)) { $RoleValueById[$roleId] } else { '' })
    }
}

# ---------------------------------------------------------------------------
# Writing tables: streaming, resumable, header even when empty
# ---------------------------------------------------------------------------

function Get-TablePath([string] $Name) { Join-Path $OutputDirectory "$Name.csv" }

# Whether a previous run completed the table (and -Restart was not given).
function Test-TableDone([string] $Name) {
    (-not $Restart) -and (Test-Path -LiteralPath (Get-TablePath $Name))
}

function Write-Skipped([string] $Name) {
    Write-Host ("{0,-34} already written; skipped (-Restart writes it again)" -f "$Name.csv")
}

# Writes the header line alone (Export-Csv writes nothing for no objects).
function Write-Header([string] $Path, [string[]] $Header) {
    $line = ($Header | ForEach-Object { '"' + $_.Replace('"', '""') + '"' }) -join ','
    Set-Content -LiteralPath $Path -Value $line -Encoding utf8
}

# Runs $Script with retries: a throttled or failed call waits and tries again,
# 5 s, 10 s, 20 s ... up to $Attempts times, then fails with the last error.
function Invoke-Retried([string] $What, [scriptblock] $Script, [int] $Attempts = 6) {
    for ($attempt = 1; ; $attempt++) {
        try {
            return & $Script
        } catch {
            if ($attempt -ge $Attempts) { throw }
            $wait = [Math]::Min(300, 5 * [Math]::Pow(2, $attempt - 1))
            Write-Warning ("{0} failed (attempt {1} of {2}): {3}; retrying in {4} s" -f $What, $attempt, $Attempts, $_.Exception.Message, $wait)
            Start-Sleep -Seconds $wait
        }
    }
}

<#
    Streams the rows $Rows produces into <Name>.csv. The file is written as
    <Name>.csv.partial and renamed when complete, so a table that exists is whole;
    a failure retries the whole table. Progress shows the rows written so far.
#>
function Export-Table([string] $Name, [string[]] $Header, [scriptblock] $Rows) {
    if (Test-TableDone $Name) { Write-Skipped $Name; return }
    $final = Get-TablePath $Name
    $partial = "$final.partial"
    $count = Invoke-Retried "writing $Name.csv" {
        $script:rowCount = 0
        & $Rows | ForEach-Object {
            if ($null -ne $_) {
                $script:rowCount++
                if ($script:rowCount % 1000 -eq 0) {
                    Write-Progress -Activity "Writing $Name.csv" -Status ("{0:N0} rows" -f $script:rowCount)
                }
                $_
            }
        } | Export-Csv -LiteralPath $partial -NoTypeInformation -Encoding utf8
        $script:rowCount
    }
    Write-Progress -Activity "Writing $Name.csv" -Completed
    if ($count -eq 0) { Write-Header $partial $Header }
    Move-Item -LiteralPath $partial -Destination $final -Force
    Write-Host ("{0,-34} {1,12:N0} rows" -f "$Name.csv", $count)
}

# ---------------------------------------------------------------------------
# The Exchange part
# ---------------------------------------------------------------------------

# The mailbox columns Get-EXORecipient can return here: a one-recipient probe
# finds properties the service refuses, so a long run never fails on them.
function Get-MailboxColumns {
    $ask = @($MailboxProperties + 'UserPrincipalName' | Select-Object -Unique)
    $usable = @()
    foreach ($property in $ask) {
        try {
            $null = Get-EXORecipient -ResultSize 1 -RecipientTypeDetails $MailboxTypes -Properties $property
            $usable += $property
        } catch {
            Write-Warning "Get-EXORecipient does not return '$property' here; the column is left out"
        }
    }
    $probe = @(Get-EXORecipient -ResultSize 1 -RecipientTypeDetails $MailboxTypes -PropertySets 'Minimum', 'Custom' -Properties $usable)
    $hasUpn = ($probe.Count -gt 0) -and ($null -ne $probe[0].PSObject.Properties['UserPrincipalName'])
    $first = @('ExternalDirectoryObjectId', 'PrimarySmtpAddress', 'UserPrincipalName', 'Alias', 'Name', 'DisplayName', 'DistinguishedName', 'Guid', 'RecipientTypeDetails', 'EmailAddresses')
    $header = @($first + ($usable | Where-Object { $first -notcontains $_ }) + $CustomAttributes | Select-Object -Unique)
    [pscustomobject]@{ Properties = @($usable | Where-Object { $_ -ne 'UserPrincipalName' }); Header = $header; HasUpn = $hasUpn }
}

function Export-Mailboxes {
    if (Test-TableDone 'mailboxes') { Write-Skipped 'mailboxes'; return }
    $columns = Get-MailboxColumns
    $upnById = $null
    if (-not $columns.HasUpn) {
        # Get-EXOMailbox's Minimum property set holds UserPrincipalName.
        Write-Host 'Reading user principal names (Get-EXOMailbox) ...'
        $upnById = @{}
        Invoke-Retried 'Get-EXOMailbox' {
            Get-EXOMailbox -ResultSize Unlimited -PropertySets 'Minimum' | ForEach-Object {
                $upnById[[string]$_.ExternalDirectoryObjectId] = [string]$_.UserPrincipalName
                if ($upnById.Count % 10000 -eq 0) {
                    Write-Progress -Activity 'Reading user principal names' -Status ("{0:N0} mailboxes" -f $upnById.Count)
                }
            }
        }
        Write-Progress -Activity 'Reading user principal names' -Completed
    }
    Export-Table 'mailboxes' $columns.Header {
        Get-EXORecipient -ResultSize Unlimited -RecipientTypeDetails $MailboxTypes -PropertySets 'Minimum', 'Custom' -Properties $columns.Properties |
            ForEach-Object { ConvertTo-MailboxRow $_ $columns.Header $upnById }
    }
}

function Export-Groups {
    Export-Table 'groups' $GroupHeader {
        # Groups are few (tens of thousands at most); they are merged by Guid in memory.
        $byGuid = [ordered]@{}
        Get-EXORecipient -ResultSize Unlimited -RecipientTypeDetails $GroupTypes -Properties 'DistinguishedName', 'Guid', 'PrimarySmtpAddress', 'EmailAddresses', 'Alias', 'DisplayName' |
            ForEach-Object { $byGuid[(Get-Cell $_ 'Guid')] = ConvertTo-GroupRow $_ }
        # Get-Group also returns groups that are not mail-enabled recipients.
        Get-Group -ResultSize Unlimited | ForEach-Object {
            $guid = Get-Cell $_ 'Guid'
            if (-not $byGuid.Contains($guid)) { $byGuid[$guid] = ConvertTo-GroupRow $_ }
        }
        $byGuid.Values
    }
}

function Export-ExchangePart {
    Export-Mailboxes
    Export-Groups
    Export-Table 'administrative_units' @('Id', 'DisplayName', 'DistinguishedName') {
        Get-AdministrativeUnit | ForEach-Object { ConvertTo-AdministrativeUnitRow $_ }
    }
    Export-Table 'application_access_policies' $PolicyHeader {
        Get-ApplicationAccessPolicy | ForEach-Object { ConvertTo-Row $_ $PolicyHeader }
    }
    Export-Table 'management_scopes' $ScopeHeader {
        Get-ManagementScope | Where-Object { (Get-Cell $_ 'ScopeRestrictionType') -eq 'RecipientScope' } |
            ForEach-Object { ConvertTo-Row $_ $ScopeHeader }
    }
    Export-Table 'management_role_assignments' $AssignmentHeader {
        # The Exchange service principal pointers, by every name an assignment may use.
        $appIdByKey = @{}
        foreach ($sp in @(Get-ServicePrincipal)) {
            $appId = Get-Cell $sp 'AppId'
            foreach ($key in @('Identity', 'Name', 'DisplayName', 'ObjectId', 'ServiceId', 'AppId')) {
                $value = Get-Cell $sp $key
                if ($value -ne '') { $appIdByKey[$value] = $appId }
            }
        }
        Get-ManagementRoleAssignment | Where-Object { (Get-Cell $_ 'RoleAssigneeType') -eq 'ServicePrincipal' } |
            ForEach-Object { ConvertTo-AssignmentRow $_ $appIdByKey }
    }
}

# ---------------------------------------------------------------------------
# The Graph part
# ---------------------------------------------------------------------------

# Ids of the objects the Exchange part listed (groups.csv, administrative_units.csv).
function Read-Ids([string] $Table, [string] $Column) {
    $path = Get-TablePath $Table
    if (-not (Test-Path -LiteralPath $path)) {
        throw "$path is missing: run the Exchange part first (-Part Exchange, or -Part All)"
    }
    @(Import-Csv -LiteralPath $path | ForEach-Object { $_.$Column } | Where-Object { $_ -ne '' })
}

<#
    Streams the direct members of many groups, as ids, into group_members.csv:
      "Group","Member"
      "c0c0c0c0-0000-4000-8000-000000000001","a1b2c3d4-0000-4000-8000-00000000000a"
    Twenty groups go into one JSON batch request; a page beyond the first is
    fetched on its own. A throttled request (429) or a service error (5xx) is sent
    again after the wait the service asks for; a group deleted during the run (404)
    is skipped with a warning. After each batch the number of groups done is saved
    in group_members.csv.progress, so a rerun continues where this one stopped.
#>
function Export-GroupMembers {
    if (Test-TableDone 'group_members') { Write-Skipped 'group_members'; return }
    $final = Get-TablePath 'group_members'
    $partial = "$final.partial"
    $progressFile = "$final.progress"
    $groups = Read-Ids 'groups' 'ExternalDirectoryObjectId'
    $withoutId = @(Import-Csv -LiteralPath (Get-TablePath 'groups')).Count - $groups.Count
    if ($withoutId -gt 0) {
        Write-Host "group_members.csv: $withoutId groups have no Entra object id (role groups, for example); their members are not exported"
    }
    $done = 0
    if ((-not $Restart) -and (Test-Path -LiteralPath $progressFile) -and (Test-Path -LiteralPath $partial)) {
        $done = [int](Get-Content -LiteralPath $progressFile -Raw)
        Write-Host "group_members.csv: resuming after $done of $($groups.Count) groups"
    } else {
        Write-Header $partial @('Group', 'Member')
    }
    $rows = 0
    while ($done -lt $groups.Count) {
        $batch = @($groups[$done..([Math]::Min($done + 20, $groups.Count) - 1)])
        # Object ids need no CSV escaping; .NET appends UTF-8 without a second BOM.
        $lines = [string[]]@(Get-MemberIdsBatch $batch)
        if ($lines.Count -gt 0) { [System.IO.File]::AppendAllLines($partial, $lines) }
        $rows += $lines.Count
        $done += $batch.Count
        Set-Content -LiteralPath $progressFile -Value $done
        Write-Progress -Activity 'Writing group_members.csv' -Status ("{0:N0} of {1:N0} groups, {2:N0} members" -f $done, $groups.Count, $rows) -PercentComplete (100 * $done / [Math]::Max(1, $groups.Count))
    }
    Write-Progress -Activity 'Writing group_members.csv' -Completed
    Move-Item -LiteralPath $partial -Destination $final -Force
    Remove-Item -LiteralPath $progressFile -ErrorAction SilentlyContinue
    Write-Host ("{0,-34} {1,12:N0} rows ({2:N0} groups)" -f 'group_members.csv', $rows, $groups.Count)
}

# The "Group","Member" lines of up to twenty groups, by one JSON batch request.
function Get-MemberIdsBatch([string[]] $GroupIds) {
    $pending = @($GroupIds)
    $rows = New-Object System.Collections.Generic.List[string]
    for ($round = 1; $pending.Count -gt 0; $round++) {
        $requests = @(for ($i = 0; $i -lt $pending.Count; $i++) {
            @{ id = [string]$i; method = 'GET'; url = "/groups/$($pending[$i])/members?`$select=id&`$top=999" }
        })
        $body = @{ requests = $requests } | ConvertTo-Json -Depth 4
        $response = Invoke-Retried 'Graph $batch (group members)' {
            Invoke-MgGraphRequest -Method POST -Uri 'https://graph.microsoft.com/v1.0/$batch' -Body $body -ContentType 'application/json'
        }
        $again = @()
        $wait = 0
        foreach ($answer in $response.responses) {
            $group = $pending[[int]$answer.id]
            $status = [int]$answer.status
            if ($status -eq 200) {
                foreach ($member in @($answer.body.value)) { $rows.Add('"' + $group + '","' + [string]$member.id + '"') }
                $next = $answer.body['@odata.nextLink']
                while ($next) {
                    $page = Invoke-Retried "Graph members of group $group" { Invoke-MgGraphRequest -Method GET -Uri $next }
                    foreach ($member in @($page.value)) { $rows.Add('"' + $group + '","' + [string]$member.id + '"') }
                    $next = $page['@odata.nextLink']
                }
            } elseif ($status -eq 404) {
                Write-Warning "group $group no longer exists in Entra ID (deleted during the run?); its members are left out"
            } elseif (($status -eq 429 -or $status -ge 500) -and $round -lt 8) {
                $again += $group
                $retryAfter = 0
                if ($answer.headers -and $answer.headers['Retry-After']) { $retryAfter = [int]$answer.headers['Retry-After'] }
                $wait = [Math]::Max($wait, [Math]::Max($retryAfter, 5 * $round))
            } else {
                throw "Graph answered $status for the members of group $group"
            }
        }
        if ($again.Count -gt 0) { Start-Sleep -Seconds $wait }
        $pending = $again
    }
    $rows
}

function Export-GraphPart {
    # Service principals are few (thousands); their AppIds are kept to name the
    # clients of app role assignments.
    $appIdById = @{}
    if (Test-TableDone 'service_principals') {
        Import-Csv -LiteralPath (Get-TablePath 'service_principals') | ForEach-Object { $appIdById[$_.ObjectId] = $_.AppId }
    }
    Export-Table 'service_principals' @('AppId', 'ObjectId', 'DisplayName') {
        Get-MgServicePrincipal -All -PageSize 999 -Property 'appId', 'id', 'displayName' | ForEach-Object {
            $appIdById[[string]$_.Id] = [string]$_.AppId
            ConvertTo-ServicePrincipalRow $_
        }
    }
    # Entra application-permission grants on the two resources that reach mailboxes:
    # one paged call per resource instead of one per app.
    Export-Table 'app_role_assignments' @('AppId', 'PrincipalId', 'ResourceAppId', 'ResourceDisplayName', 'AppRoleId', 'Permission') {
        foreach ($resourceAppId in @($GraphAppId, $ExchangeAppId)) {
            $resource = Get-MgServicePrincipal -Filter "appId eq '$resourceAppId'" -Property 'id', 'appId', 'displayName', 'appRoles'
            if ($null -eq $resource) { continue }
            $roleValueById = @{}
            foreach ($role in @($resource.AppRoles)) { $roleValueById[[string]$role.Id] = [string]$role.Value }
            Get-MgServicePrincipalAppRoleAssignedTo -ServicePrincipalId $resource.Id -All -PageSize 999 |
                Where-Object { $_.PrincipalType -eq 'ServicePrincipal' } |
                ForEach-Object { ConvertTo-GrantRow $_ $resource $appIdById $roleValueById }
        }
    }
    Export-GroupMembers
    # Entra does not expand groups in administrative units; exomatrix reports a
    # group member of a unit as a finding, so members are written as they are.
    Export-Table 'administrative_unit_members' @('AdministrativeUnit', 'Member') {
        foreach ($unit in (Read-Ids 'administrative_units' 'Id')) {
            Invoke-Retried "members of administrative unit $unit" {
                Get-MgDirectoryAdministrativeUnitMember -AdministrativeUnitId $unit -All -PageSize 999 -Property 'id' |
                    ForEach-Object { [pscustomobject][ordered]@{ AdministrativeUnit = $unit; Member = [string]$_.Id } }
            }
        }
    }
    Write-TenantFile
}

<#
    tenant.json: which tenant the snapshot is of, and when it was taken.
      { "tenant_id": "...", "initial_domain": "fabrikam.onmicrosoft.com",
        "display_name": "Fabrikam", "exported_at": "2026-11-22T08:15:00Z" }
#>
function Write-TenantFile {
    $tenant = [ordered]@{ tenant_id = ''; initial_domain = ''; display_name = ''; exported_at = (ConvertTo-Cell ([datetime]::UtcNow)) }
    try {
        $org = @(Get-MgOrganization -Property 'id', 'displayName', 'verifiedDomains')[0]
        $tenant.tenant_id = [string]$org.Id
        $tenant.display_name = [string]$org.DisplayName
        $initial = @($org.VerifiedDomains | Where-Object { $_.IsInitial })
        if ($initial.Count -gt 0) { $tenant.initial_domain = [string]$initial[0].Name }
    } catch {
        Write-Warning "Get-MgOrganization failed ($($_.Exception.Message)); tenant.json holds the tenant id only"
        $tenant.tenant_id = [string](Get-MgContext).TenantId
    }
    $tenant | ConvertTo-Json | Set-Content -LiteralPath (Join-Path $OutputDirectory 'tenant.json') -Encoding utf8
}

# ---------------------------------------------------------------------------
# Connecting, checking, and running the parts
# ---------------------------------------------------------------------------

function Connect-Part([string] $Which) {
    if ($SkipConnect) { return }
    $appOnly = ($AppId -ne '') -and ($CertificateThumbprint -ne '')
    if ($Which -eq 'Exchange') {
        $connect = @{ ShowBanner = $false }
        if ($appOnly) { $connect.AppId = $AppId; $connect.CertificateThumbprint = $CertificateThumbprint; $connect.Organization = $Organization }
        Connect-ExchangeOnline @connect
    } else {
        $connect = @{ NoWelcome = $true }
        if ($appOnly) { $connect.ClientId = $AppId; $connect.CertificateThumbprint = $CertificateThumbprint; $connect.TenantId = $Organization }
        else {
            $connect.Scopes = @('Application.Read.All', 'GroupMember.Read.All', 'AdministrativeUnit.Read.All', 'Organization.Read.All')
            if ($Organization -ne '') { $connect.TenantId = $Organization }
        }
        Connect-MgGraph @connect
    }
}

# Calls each cmdlet of a part once and prints PASS or FAIL.
function Test-Part([string] $Which) {
    $checks = [ordered]@{}
    if ($Which -eq 'Exchange') {
        $checks['Get-EXORecipient (mailboxes)'] = { Get-EXORecipient -ResultSize 1 -RecipientTypeDetails $MailboxTypes -PropertySets 'Minimum', 'Custom' }
        $checks['Get-EXOMailbox'] = { Get-EXOMailbox -ResultSize 1 -PropertySets 'Minimum' }
        $checks['Get-Group'] = { Get-Group -ResultSize 1 }
        $checks['Get-AdministrativeUnit'] = { Get-AdministrativeUnit }
        $checks['Get-ApplicationAccessPolicy'] = { Get-ApplicationAccessPolicy }
        $checks['Get-ManagementScope'] = { Get-ManagementScope }
        $checks['Get-ManagementRoleAssignment'] = { Get-ManagementRoleAssignment }
        $checks['Get-ServicePrincipal'] = { Get-ServicePrincipal }
    } else {
        $checks['Get-MgServicePrincipal'] = { Get-MgServicePrincipal -Top 1 -Property 'id' }
        $checks['Get-MgServicePrincipalAppRoleAssignedTo'] = {
            $graph = Get-MgServicePrincipal -Filter "appId eq '$GraphAppId'" -Property 'id'
            Get-MgServicePrincipalAppRoleAssignedTo -ServicePrincipalId $graph.Id -Top 1
        }
        $checks['Get-MgGroupMember'] = {
            $group = Get-MgGroup -Top 1 -Property 'id'
            if ($group) { Get-MgGroupMember -GroupId $group.Id -Top 1 -Property 'id' }
        }
        $checks['Get-MgDirectoryAdministrativeUnit'] = { Get-MgDirectoryAdministrativeUnit -Top 1 -Property 'id' }
        $checks['Get-MgOrganization'] = { Get-MgOrganization -Property 'id' }
        $checks['Graph $batch'] = { Invoke-MgGraphRequest -Method POST -Uri 'https://graph.microsoft.com/v1.0/$batch' -Body '{"requests":[{"id":"1","method":"GET","url":"/organization?$select=id"}]}' -ContentType 'application/json' }
    }
    $failed = 0
    foreach ($name in $checks.Keys) {
        try {
            $null = & $checks[$name]
            Write-Host "PASS  $name"
        } catch {
            $failed++
            Write-Host "FAIL  $name : $($_.Exception.Message)"
        }
    }
    if ($failed -gt 0) { throw "$failed check(s) of the $Which part failed; see REQUIREMENTS in Get-Help $PSCommandPath -Full" }
}

function Invoke-Part([string] $Which) {
    Connect-Part $Which
    if ($CheckOnly) { Test-Part $Which; return }
    Write-Host "Exporting the $Which part into $OutputDirectory ..."
    if ($Which -eq 'Exchange') { Export-ExchangePart } else { Export-GraphPart }
}

# Runs one part in a fresh process of this same PowerShell.
function Invoke-ChildPart([string] $Which) {
    $exe = (Get-Process -Id $PID).Path
    $arguments = @('-NoProfile', '-ExecutionPolicy', 'Bypass', '-File', $PSCommandPath, '-OutputDirectory', $OutputDirectory, '-Part', $Which)
    if ($Restart) { $arguments += '-Restart' }
    if ($CheckOnly) { $arguments += '-CheckOnly' }
    foreach ($pair in @(@('-Organization', $Organization), @('-AppId', $AppId), @('-CertificateThumbprint', $CertificateThumbprint))) {
        if ($pair[1] -ne '') { $arguments += $pair }
    }
    if ($ExtraMailboxProperties.Count -gt 0) { $arguments += '-ExtraMailboxProperties'; $arguments += ($ExtraMailboxProperties -join ',') }
    & $exe @arguments
    if ($LASTEXITCODE -ne 0) { throw "the $Which part failed (exit code $LASTEXITCODE); fix the cause and run again: finished tables are kept" }
}

try {
    if ($SkipConnect -and $Part -eq 'All') {
        throw '-SkipConnect needs -Part Exchange or -Part Graph: the two parts run in separate processes (msgraph-sdk-powershell #3394), so a session of this process can serve only one of them'
    }
    New-Item -ItemType Directory -Force -Path $OutputDirectory | Out-Null
    $OutputDirectory = (Resolve-Path -LiteralPath $OutputDirectory).Path
    if ($Part -eq 'All') {
        $failed = @()
        foreach ($which in @('Exchange', 'Graph')) {
            try {
                Invoke-ChildPart $which
            } catch {
                # A check of one part goes on to check the other; an export stops.
                if (-not $CheckOnly) { throw }
                $failed += $which
            }
        }
        if ($failed.Count -gt 0) { throw "checks failed in the $($failed -join ' and ') part" }
        if (-not $CheckOnly) {
            Write-Host "Snapshot written to $OutputDirectory. Next: exomatrix analyze '$OutputDirectory' -o <dataset>"
        }
    } else {
        Invoke-Part $Part
    }
} catch {
    Write-Error $_ -ErrorAction Continue
    exit 1
}
