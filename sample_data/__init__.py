"""The fictional company `company.com`: an emulator seed directory (see manifest.json)."""
