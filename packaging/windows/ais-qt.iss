; Inno Setup script: a per-user install of the PyInstaller bundle (dist\ais-qt\), no administrator
; rights needed. Built by .github/workflows/installers.yml:
;   iscc /DAppVersion=0.1.0 /DBundleDir=dist\ais-qt /DIconFile=build\icons\ais-qt.ico /DOutputDir=dist packaging\windows\ais-qt.iss
; Silent install and uninstall (the workflow's smoke test):
;   ais-qt-0.1.0-windows-x64-setup.exe /VERYSILENT /SUPPRESSMSGBOXES /CURRENTUSER /TASKS=desktopicon
;   "%LOCALAPPDATA%\Programs\Ais-Qt\unins000.exe" /VERYSILENT /SUPPRESSMSGBOXES

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef BundleDir
  #define BundleDir "..\..\dist\ais-qt"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\icons\ais-qt.ico"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif

[Setup]
; A fixed AppId keeps upgrades in place (and one entry in Programs and Features).
AppId={{6E1F3C2A-8B4D-4F7A-9C31-2D5E8A9B0C41}
AppName=Ais-Qt
AppVersion={#AppVersion}
AppVerName=Ais-Qt {#AppVersion}
AppPublisher=Ais-Qt developers
AppPublisherURL=https://github.com/ais-qt/ais-qt
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\Ais-Qt
DefaultGroupName=Ais-Qt
DisableProgramGroupPage=yes
; Per user, without administrator rights: {autopf} is %LOCALAPPDATA%\Programs and the file types
; go to HKEY_CURRENT_USER.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=ais-qt-{#AppVersion}-windows-x64-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\ais-qt.exe
UninstallDisplayName=Ais-Qt {#AppVersion}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Ais-Qt"; Filename: "{app}\ais-qt.exe"
Name: "{autodesktop}\Ais-Qt"; Filename: "{app}\ais-qt.exe"; Tasks: desktopicon

[Registry]
; .aisqt projects and .aisnet networks open in Ais-Qt; .mrc is offered (Open with).
Root: HKA; Subkey: "Software\Classes\.aisqt"; ValueType: string; ValueName: ""; ValueData: "AisQt.Project"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\AisQt.Project"; ValueType: string; ValueName: ""; ValueData: "Ais-Qt project"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\AisQt.Project\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\ais-qt.exe,0"
Root: HKA; Subkey: "Software\Classes\AisQt.Project\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\ais-qt.exe"" ""%1"""
Root: HKA; Subkey: "Software\Classes\.aisnet"; ValueType: string; ValueName: ""; ValueData: "AisQt.Network"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\AisQt.Network"; ValueType: string; ValueName: ""; ValueData: "Ais-Qt network"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\AisQt.Network\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\ais-qt.exe,0"
Root: HKA; Subkey: "Software\Classes\AisQt.Network\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\ais-qt.exe"" ""%1"""
Root: HKA; Subkey: "Software\Classes\.mrc\OpenWithProgids"; ValueType: string; ValueName: "AisQt.Volume"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\AisQt.Volume"; ValueType: string; ValueName: ""; ValueData: "MRC volume"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\AisQt.Volume\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\ais-qt.exe"" ""%1"""
Root: HKA; Subkey: "Software\Classes\Applications\ais-qt.exe\SupportedTypes"; ValueType: string; ValueName: ".mrc"; ValueData: ""; Flags: uninsdeletekey

[Run]
Filename: "{app}\ais-qt.exe"; Description: "{cm:LaunchProgram,Ais-Qt}"; Flags: nowait postinstall skipifsilent
