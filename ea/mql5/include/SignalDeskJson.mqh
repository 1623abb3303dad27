//+------------------------------------------------------------------+
//| SignalDeskJson.mqh: a minimal JSON reader and writer helpers     |
//| Enough for the /ea/v1 shapes: objects, arrays, strings (with     |
//| \uXXXX escapes in the BMP), numbers (raw text kept, so tickets   |
//| parse exactly), true/false/null. Not a general-purpose library.  |
//+------------------------------------------------------------------+
enum ENUM_SD_JSON
  {
   SD_JSON_NULL,
   SD_JSON_BOOL,
   SD_JSON_NUMBER,
   SD_JSON_STRING,
   SD_JSON_ARRAY,
   SD_JSON_OBJECT
  };

class CSdJson
  {
public:
   ENUM_SD_JSON      type;
   string            text;        // string value, or the raw text of a number
   bool              flag;
   string            keys[];
   CSdJson          *items[];

                     CSdJson(void) : type(SD_JSON_NULL), text(""), flag(false) {}
                    ~CSdJson(void)
     {
      for(int i=0;i<ArraySize(items);i++)
         if(CheckPointer(items[i])==POINTER_DYNAMIC)
            delete items[i];
     }
   int               Size(void) const { return ArraySize(items); }
   CSdJson          *At(const int i) { return (i>=0 && i<ArraySize(items)) ? items[i] : NULL; }
   CSdJson          *Get(const string key)
     {
      for(int i=0;i<ArraySize(keys);i++)
         if(keys[i]==key)
            return items[i];
      return NULL;
     }
   void              Add(const string key,CSdJson *value)
     {
      int n=ArraySize(items);
      ArrayResize(items,n+1);
      ArrayResize(keys,n+1);
      items[n]=value;
      keys[n]=key;
     }
   bool              IsNull(const string key)
     {
      CSdJson *v=Get(key);
      return v==NULL || v.type==SD_JSON_NULL;
     }
   string            Str(const string key,const string fallback="")
     {
      CSdJson *v=Get(key);
      return (v==NULL || v.type==SD_JSON_NULL) ? fallback : v.text;
     }
   double            Num(const string key,const double fallback=0.0)
     {
      CSdJson *v=Get(key);
      return (v==NULL || v.type!=SD_JSON_NUMBER) ? fallback : StringToDouble(v.text);
     }
   long              Int(const string key,const long fallback=0)
     {
      CSdJson *v=Get(key);
      return (v==NULL || v.type!=SD_JSON_NUMBER) ? fallback : StringToInteger(v.text);
     }
  };

class CSdJsonParser
  {
private:
   string            m_s;
   int               m_pos;
   int               m_len;
   bool              m_ok;

   ushort            Peek(void) { return m_pos<m_len ? StringGetCharacter(m_s,m_pos) : 0; }
   void              SkipWs(void)
     {
      while(m_pos<m_len)
        {
         ushort c=Peek();
         if(c!=' ' && c!='\t' && c!='\r' && c!='\n')
            break;
         m_pos++;
        }
     }
   bool              Literal(const string word)
     {
      if(StringSubstr(m_s,m_pos,StringLen(word))!=word)
         return false;
      m_pos+=StringLen(word);
      return true;
     }
   string            ParseString(void)
     {
      string out="";
      m_pos++; // the opening quote
      while(m_pos<m_len)
        {
         ushort c=Peek();
         m_pos++;
         if(c=='"')
            return out;
         if(c!='\\')
           {
            out+=ShortToString(c);
            continue;
           }
         ushort e=Peek();
         m_pos++;
         switch(e)
           {
            case 'n': out+="\n"; break;
            case 't': out+="\t"; break;
            case 'r': out+="\r"; break;
            case 'b': out+=ShortToString(8); break;
            case 'f': out+=ShortToString(12); break;
            case 'u':
               out+=ShortToString((ushort)StringToInteger("0x"+StringSubstr(m_s,m_pos,4)));
               m_pos+=4;
               break;
            default: out+=ShortToString(e); // \" \\ \/
           }
        }
      m_ok=false;
      return out;
     }
   CSdJson          *ParseValue(const int depth)
     {
      SkipWs();
      CSdJson *v=new CSdJson();
      ushort c=Peek();
      if(depth>32)
         m_ok=false;
      else if(c=='{')
         ParseContainer(v,depth,true);
      else if(c=='[')
         ParseContainer(v,depth,false);
      else if(c=='"')
        {
         v.type=SD_JSON_STRING;
         v.text=ParseString();
        }
      else if(Literal("true"))
        {
         v.type=SD_JSON_BOOL;
         v.flag=true;
        }
      else if(Literal("false"))
         v.type=SD_JSON_BOOL;
      else if(Literal("null"))
         v.type=SD_JSON_NULL;
      else
        {
         int start=m_pos;
         while(m_pos<m_len && StringFind("+-0123456789.eE",ShortToString(Peek()))>=0)
            m_pos++;
         v.type=SD_JSON_NUMBER;
         v.text=StringSubstr(m_s,start,m_pos-start);
         if(m_pos==start)
            m_ok=false;
        }
      return v;
     }
   void              ParseContainer(CSdJson *v,const int depth,const bool is_object)
     {
      v.type=is_object ? SD_JSON_OBJECT : SD_JSON_ARRAY;
      ushort close=is_object ? '}' : ']';
      m_pos++;
      SkipWs();
      if(Peek()==close)
        {
         m_pos++;
         return;
        }
      while(m_ok && m_pos<m_len)
        {
         string key="";
         if(is_object)
           {
            SkipWs();
            if(Peek()!='"')
              {
               m_ok=false;
               return;
              }
            key=ParseString();
            SkipWs();
            if(Peek()!=':')
              {
               m_ok=false;
               return;
              }
            m_pos++;
           }
         v.Add(key,ParseValue(depth+1));
         SkipWs();
         ushort c=Peek();
         m_pos++;
         if(c==close)
            return;
         if(c!=',')
            m_ok=false;
        }
      m_ok=false;
     }

public:
   //--- the parsed tree (delete it), or NULL for malformed text
   CSdJson          *Parse(const string text)
     {
      m_s=text;
      m_pos=0;
      m_len=StringLen(text);
      m_ok=true;
      CSdJson *root=ParseValue(0);
      if(!m_ok)
        {
         delete root;
         return NULL;
        }
      return root;
     }
  };

//--- writer helpers: each returns one "key":value pair
string SdJsonEscape(const string value)
  {
   string out=value;
   StringReplace(out,"\\","\\\\");
   StringReplace(out,"\"","\\\"");
   StringReplace(out,"\n","\\n");
   StringReplace(out,"\r","\\r");
   StringReplace(out,"\t","\\t");
   return "\""+out+"\"";
  }

string SdPairStr(const string key,const string value)
  {
   return SdJsonEscape(key)+":"+SdJsonEscape(value);
  }

string SdPairNum(const string key,const double value,const int digits)
  {
   return SdJsonEscape(key)+":"+DoubleToString(value,digits);
  }

string SdPairInt(const string key,const long value)
  {
   return SdJsonEscape(key)+":"+IntegerToString(value);
  }

string SdPairNull(const string key)
  {
   return SdJsonEscape(key)+":null";
  }

//--- a price or level: null when MT5 says 0 (no level)
string SdPairLevel(const string key,const double value,const int digits)
  {
   return value==0.0 ? SdPairNull(key) : SdPairNum(key,value,digits);
  }
//+------------------------------------------------------------------+
