"""The API's operations, one mixin of ``PbxSession`` each: Call Summary, Call Details, recordings, notes."""
